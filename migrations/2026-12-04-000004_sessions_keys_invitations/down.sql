DROP TABLE invitations;
ALTER TABLE api_keys DROP COLUMN expires_at;
ALTER TABLE users DROP COLUMN session_version;
