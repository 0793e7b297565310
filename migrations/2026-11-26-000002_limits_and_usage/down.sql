DROP TABLE instance_usage;
ALTER TABLE api_keys DROP COLUMN limits;
ALTER TABLE redis_instances DROP COLUMN limits;
