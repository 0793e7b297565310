-- Plans: what an organization may have, owned by the platform's operator (`redisgate admin plan`), never by
-- a tenant. An organization's instances together stay within its plan's count and memory, and each
-- instance's limits are clamped to the plan's (a field the plan leaves out is not limited by it).

CREATE TABLE plans (
    name          text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9-]{0,39}$'),
    max_instances integer NOT NULL CHECK (max_instances >= 0),
    -- The sum of the organization's instances' max_memory, in bytes.
    max_memory    bigint NOT NULL CHECK (max_memory >= 0),
    limits        jsonb NOT NULL DEFAULT '{}',
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- New organizations get 'default' (10 instances, 4 GiB in all, no rate caps): the operator changes its
-- values, or assigns other plans.
INSERT INTO plans (name, max_instances, max_memory) VALUES ('default', 10, 4294967296);

ALTER TABLE organizations ADD COLUMN plan text NOT NULL DEFAULT 'default' REFERENCES plans (name);

CREATE TRIGGER plans_notify AFTER INSERT OR UPDATE OR DELETE ON plans
    FOR EACH STATEMENT EXECUTE FUNCTION notify_directory();
CREATE TRIGGER organizations_plan_notify AFTER UPDATE OF plan ON organizations
    FOR EACH STATEMENT EXECUTE FUNCTION notify_directory();
