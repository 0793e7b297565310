DROP TRIGGER organizations_plan_notify ON organizations;
ALTER TABLE organizations DROP COLUMN plan;
DROP TABLE plans;
