-- Limits of instances and API keys (JSON objects, absent fields mean no limit; see redisgate-core's
-- `Limits`), and the commands each instance ran per UTC day, the unit the product is priced by.

ALTER TABLE redis_instances ADD COLUMN limits jsonb NOT NULL DEFAULT '{}';
ALTER TABLE api_keys ADD COLUMN limits jsonb NOT NULL DEFAULT '{}';

-- No foreign key: usage is billed after the instance is gone. Gateways add their counts every few seconds
-- (INSERT ... ON CONFLICT DO UPDATE SET commands = commands + excluded.commands).
CREATE TABLE instance_usage (
    instance_id     uuid NOT NULL,
    organization_id uuid NOT NULL,
    day             date NOT NULL,
    commands        bigint NOT NULL CHECK (commands >= 0),
    PRIMARY KEY (instance_id, day)
);
CREATE INDEX instance_usage_organization ON instance_usage (organization_id, day);
