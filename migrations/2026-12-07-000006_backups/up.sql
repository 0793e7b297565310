-- Backups of instances: RDB snapshots kept in the backup store (a directory or S3-compatible storage) under
-- `object_key`. A backup is `running` until its file is stored, then `done` (with its size, key count and
-- SHA-256) or `failed` (with why).
CREATE TABLE backups (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    instance_id uuid NOT NULL REFERENCES redis_instances (id) ON DELETE CASCADE,
    trigger text NOT NULL CHECK (trigger IN ('manual', 'scheduled')),
    state text NOT NULL CHECK (state IN ('running', 'done', 'failed')),
    object_key text NOT NULL,
    size_bytes bigint,
    keys bigint,
    sha256 text,
    error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
CREATE INDEX backups_of_instance ON backups (instance_id, created_at DESC);

-- When an instance is backed up on its own, and which of its backups are kept (each absent: no schedule,
-- no limit).
CREATE TABLE backup_policies (
    instance_id uuid PRIMARY KEY REFERENCES redis_instances (id) ON DELETE CASCADE,
    every_hours integer CHECK (every_hours BETWEEN 1 AND 720),
    keep_last integer CHECK (keep_last BETWEEN 1 AND 1000),
    keep_days integer CHECK (keep_days BETWEEN 1 AND 3650),
    updated_at timestamptz NOT NULL DEFAULT now()
);
