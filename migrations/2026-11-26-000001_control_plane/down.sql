DROP TABLE audit_log;
DROP TABLE api_keys;
DROP TABLE instance_tokens;
DROP TABLE redis_instances;
DROP TABLE memberships;
DROP TABLE organizations;
DROP TABLE users;
DROP FUNCTION notify_directory();
