-- How an instance is laid out: {"mode": "standalone"}, or {"mode": "replicated", "replicas": N,
-- "min_replicas_to_write": M} (a master, N replicas and three Sentinels).
ALTER TABLE redis_instances ADD COLUMN topology jsonb NOT NULL DEFAULT '{"mode": "standalone"}';
