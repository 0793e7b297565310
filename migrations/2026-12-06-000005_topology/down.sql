ALTER TABLE redis_instances DROP COLUMN topology;
