-- Sessions that can end, keys that can expire, members who consent.

-- A session token carries the version it was issued at; logging out or changing the password bumps it, and
-- every older token stops working.
ALTER TABLE users ADD COLUMN session_version integer NOT NULL DEFAULT 0;

-- A key may expire; a key stops working when the member who made it leaves (revoked_at is set then).
ALTER TABLE api_keys ADD COLUMN expires_at timestamptz;

-- An invitation to join an organization: an admin makes it for an email and gets a code (shown once, stored
-- as a SHA-256 digest) to pass on; the user with that email accepts it with the code.
CREATE TABLE invitations (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email           text NOT NULL CHECK (email = lower(email)),
    role            text NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    code_hash       bytea NOT NULL UNIQUE,
    invited_by      uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    UNIQUE (organization_id, email)
);
CREATE INDEX invitations_email ON invitations (email);
