//! Diesel's view of the tables created by `migrations/` (kept in step with them by the store tests, which
//! run every query against a migrated PostgreSQL).
#![allow(missing_docs)]

diesel::table! {
    users (id) {
        id -> Uuid,
        email -> Text,
        password_hash -> Text,
        created_at -> Timestamptz,
        session_version -> Int4,
    }
}

diesel::table! {
    organizations (id) {
        id -> Uuid,
        name -> Text,
        slug -> Text,
        created_at -> Timestamptz,
        plan -> Text,
    }
}

diesel::table! {
    memberships (organization_id, user_id) {
        organization_id -> Uuid,
        user_id -> Uuid,
        role -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    redis_instances (id) {
        id -> Uuid,
        organization_id -> Uuid,
        name -> Text,
        slug -> Text,
        max_memory -> Int8,
        redis_version -> Text,
        status -> Text,
        status_message -> Nullable<Text>,
        endpoint -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        limits -> Jsonb,
        topology -> Jsonb,
    }
}

diesel::table! {
    instance_tokens (id) {
        id -> Uuid,
        instance_id -> Uuid,
        access -> Text,
        token_hash -> Bytea,
        created_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Uuid,
        organization_id -> Uuid,
        instance_id -> Nullable<Uuid>,
        name -> Text,
        key_prefix -> Text,
        key_hash -> Bytea,
        scopes -> Array<Text>,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        limits -> Jsonb,
        expires_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    plans (name) {
        name -> Text,
        max_instances -> Int4,
        max_memory -> Int8,
        limits -> Jsonb,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    invitations (id) {
        id -> Uuid,
        organization_id -> Uuid,
        email -> Text,
        role -> Text,
        code_hash -> Bytea,
        invited_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    instance_usage (instance_id, day) {
        instance_id -> Uuid,
        organization_id -> Uuid,
        day -> Date,
        commands -> Int8,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Int8,
        organization_id -> Nullable<Uuid>,
        actor_user_id -> Nullable<Uuid>,
        actor_api_key_id -> Nullable<Uuid>,
        action -> Text,
        target_type -> Text,
        target_id -> Nullable<Uuid>,
        details -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(memberships -> organizations (organization_id));
diesel::joinable!(memberships -> users (user_id));
diesel::joinable!(redis_instances -> organizations (organization_id));
diesel::table! {
    backups (id) {
        id -> Uuid,
        organization_id -> Uuid,
        instance_id -> Uuid,
        trigger -> Text,
        state -> Text,
        object_key -> Text,
        size_bytes -> Nullable<Int8>,
        keys -> Nullable<Int8>,
        sha256 -> Nullable<Text>,
        error -> Nullable<Text>,
        created_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    backup_policies (instance_id) {
        instance_id -> Uuid,
        every_hours -> Nullable<Int4>,
        keep_last -> Nullable<Int4>,
        keep_days -> Nullable<Int4>,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(backups -> redis_instances (instance_id));
diesel::joinable!(backup_policies -> redis_instances (instance_id));
diesel::joinable!(instance_tokens -> redis_instances (instance_id));
diesel::joinable!(api_keys -> organizations (organization_id));
diesel::joinable!(organizations -> plans (plan));
diesel::joinable!(invitations -> organizations (organization_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    organizations,
    memberships,
    redis_instances,
    instance_tokens,
    api_keys,
    instance_usage,
    audit_log,
    plans,
    invitations,
    backups,
    backup_policies,
);
