-- The control plane: users, organizations and their members, API keys, Redis instances and their access
-- tokens, and an audit log. Secrets are stored only as SHA-256 digests (tokens, keys) or argon2id hashes
-- (passwords); instance passwords are not stored here at all (the provisioner keeps them).

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    email         text NOT NULL UNIQUE CHECK (email = lower(email)),
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE organizations (
    id         uuid PRIMARY KEY,
    name       text NOT NULL,
    slug       text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE memberships (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role            text NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE redis_instances (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name            text NOT NULL UNIQUE,
    slug            text NOT NULL,
    max_memory      bigint NOT NULL CHECK (max_memory > 0),
    redis_version   text NOT NULL,
    status          text NOT NULL CHECK (status IN ('pending', 'provisioning', 'running', 'failed', 'deleting')),
    status_message  text,
    endpoint        text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (organization_id, slug)
);

CREATE TABLE instance_tokens (
    id          uuid PRIMARY KEY,
    instance_id uuid NOT NULL REFERENCES redis_instances (id) ON DELETE CASCADE,
    access      text NOT NULL CHECK (access IN ('full', 'readonly')),
    token_hash  bytea NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX instance_tokens_instance ON instance_tokens (instance_id);

CREATE TABLE api_keys (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    instance_id     uuid REFERENCES redis_instances (id) ON DELETE CASCADE,
    name            text NOT NULL,
    key_prefix      text NOT NULL,
    key_hash        bytea NOT NULL UNIQUE,
    scopes          text[] NOT NULL,
    created_by      uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz
);
CREATE INDEX api_keys_organization ON api_keys (organization_id);

-- No foreign keys: the record of what happened outlives what it happened to.
CREATE TABLE audit_log (
    id              bigserial PRIMARY KEY,
    organization_id uuid,
    actor_user_id   uuid,
    actor_api_key_id uuid,
    action          text NOT NULL,
    target_type     text NOT NULL,
    target_id       uuid,
    details         jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_organization ON audit_log (organization_id, id);

-- Gateways cache instances and credentials in memory and reload them when told: every change to what a
-- token may open is announced on the channel 'redisgate_directory'.
CREATE FUNCTION notify_directory() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('redisgate_directory', TG_TABLE_NAME);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER redis_instances_notify AFTER INSERT OR UPDATE OR DELETE ON redis_instances
    FOR EACH STATEMENT EXECUTE FUNCTION notify_directory();
CREATE TRIGGER instance_tokens_notify AFTER INSERT OR UPDATE OR DELETE ON instance_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION notify_directory();
CREATE TRIGGER api_keys_notify AFTER INSERT OR UPDATE OR DELETE ON api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION notify_directory();
