//! Who may do what in an organization: a member's [`Role`], an API key's [`Scope`]s, and the [`Need`] of
//! each action. The matrix lives here, once; the platform asks it.

use crate::protocol::Access;

text_enum! {
    /// A member's role in an organization, ordered by what it may do (`Owner > Admin > Member`).
    pub enum Role {
        /// Sees the organization and its instances.
        Member = "member",
        /// Also manages instances, their credentials, API keys and members.
        Admin = "admin",
        /// Also renames or deletes the organization and makes owners.
        Owner = "owner",
    }
}

text_enum! {
    /// What an organization API key may do.
    pub enum Scope {
        /// Create, read, change and delete instances and their credentials.
        InstancesManage = "instances:manage",
        /// Run every command on the organization's instances (its data plane).
        DataWrite = "data:write",
        /// Run read commands on the organization's instances.
        DataRead = "data:read",
    }
}

/// What an action in an organization needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// See the organization and its instances.
    Read,
    /// Create, change, delete instances; see which tokens exist.
    ManageInstances,
    /// Rotate an instance's tokens, which hands out a full data token: managers, and keys that may also
    /// write the organization's data (`instances:manage` and `data:write`).
    Credentials,
    /// Create and revoke API keys; add and remove members.
    Administer,
    /// Rename or delete the organization; make owners.
    Own,
}

impl Role {
    /// Whether a member with this role may do `need`.
    #[must_use]
    pub fn allows(self, need: Need) -> bool {
        match need {
            Need::Read => true,
            Need::ManageInstances | Need::Credentials | Need::Administer => matches!(self, Self::Admin | Self::Owner),
            Need::Own => self == Self::Owner,
        }
    }
}

impl Scope {
    /// Whether a key with `scopes` may do `need` (a key never administers or owns).
    #[must_use]
    pub fn allow(scopes: &[Self], need: Need) -> bool {
        let has = |scope: Self| scopes.contains(&scope);
        match need {
            Need::Read | Need::ManageInstances => has(Self::InstancesManage),
            // A new full token reads and writes the data: a key without data:write must not mint one.
            Need::Credentials => has(Self::InstancesManage) && has(Self::DataWrite),
            Need::Administer | Need::Own => false,
        }
    }

    /// What a key with `scopes` may run on its organization's instances, if anything.
    #[must_use]
    pub fn data_access(scopes: &[Self]) -> Option<Access> {
        if scopes.contains(&Self::DataWrite) {
            Some(Access::Full)
        } else if scopes.contains(&Self::DataRead) {
            Some(Access::ReadOnly)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEEDS: [Need; 5] = [Need::Read, Need::ManageInstances, Need::Credentials, Need::Administer, Need::Own];

    #[test]
    fn each_role_allows_what_its_row_says() {
        let matrix = [
            (Role::Member, [true, false, false, false, false]),
            (Role::Admin, [true, true, true, true, false]),
            (Role::Owner, [true, true, true, true, true]),
        ];
        for (role, allowed) in matrix {
            for (need, allowed) in NEEDS.into_iter().zip(allowed) {
                assert_eq!(role.allows(need), allowed, "{role} {need:?}");
            }
        }
    }

    #[test]
    fn keys_never_administer_and_mint_full_tokens_only_with_data_write() {
        use Scope::{DataRead, DataWrite, InstancesManage};
        let cases: [(&[Scope], [bool; 5]); 4] = [
            (&[DataRead, DataWrite], [false; 5]),
            (&[InstancesManage], [true, true, false, false, false]),
            (&[InstancesManage, DataRead], [true, true, false, false, false]),
            (&[InstancesManage, DataWrite], [true, true, true, false, false]),
        ];
        for (scopes, allowed) in cases {
            for (need, allowed) in NEEDS.into_iter().zip(allowed) {
                assert_eq!(Scope::allow(scopes, need), allowed, "{scopes:?} {need:?}");
            }
        }
    }

    #[test]
    fn roles_are_ordered_by_what_they_may_do() {
        assert!(Role::Owner > Role::Admin && Role::Admin > Role::Member);
    }

    #[test]
    fn texts_read_back_and_a_wrong_one_names_the_choices() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(*role));
            assert_eq!(serde_json::to_string(role).unwrap(), format!("\"{role}\""));
        }
        assert_eq!("instances:manage".parse::<Scope>(), Ok(Scope::InstancesManage));
        assert_eq!("root".parse::<Scope>(), Err("must be one of: instances:manage, data:write, data:read".to_owned()));
        assert!(serde_json::from_str::<Role>("\"emperor\"").is_err());
        assert_eq!(Scope::data_access(&[Scope::DataRead, Scope::DataWrite]), Some(Access::Full));
        assert_eq!(Scope::data_access(&[Scope::DataRead]), Some(Access::ReadOnly));
        assert_eq!(Scope::data_access(&[Scope::InstancesManage]), None);
    }
}
