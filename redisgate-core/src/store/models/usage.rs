//! Commands run per instance per UTC day. Each gateway adds what it counted every few seconds, so the
//! stored figure is the sum over every replica.

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::store::schema::instance_usage;

/// Rows per INSERT: four parameters each, under PostgreSQL's limit of 65,535.
pub const ROWS_PER_STATEMENT: usize = 10_000;

/// One instance's count for one day.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = instance_usage)]
pub struct DailyUsage {
    /// The instance.
    pub instance_id: Uuid,
    /// Its organization (usage outlives the instance).
    pub organization_id: Uuid,
    /// The UTC day.
    pub day: NaiveDate,
    /// Commands run that day.
    pub commands: i64,
}

impl DailyUsage {
    /// Adds each row's commands to its instance's count for its day, in one transaction (statements of at
    /// most [`ROWS_PER_STATEMENT`] rows: PostgreSQL takes at most 65,535 parameters).
    ///
    /// # Errors
    /// Database errors (nothing is added then).
    pub async fn add(conn: &mut AsyncPgConnection, rows: &[Self]) -> QueryResult<usize> {
        use diesel_async::AsyncConnection as _;
        if rows.is_empty() {
            return Ok(0);
        }
        conn.transaction(async |conn| {
            let mut added = 0;
            for chunk in rows.chunks(ROWS_PER_STATEMENT) {
                added += diesel::insert_into(instance_usage::table)
                    .values(chunk)
                    .on_conflict((instance_usage::instance_id, instance_usage::day))
                    .do_update()
                    .set(instance_usage::commands.eq(instance_usage::commands + excluded(instance_usage::commands)))
                    .execute(conn)
                    .await?;
            }
            Ok(added)
        })
        .await
    }

    /// The counts of `day` for `instances` (instances without a row ran nothing that day).
    ///
    /// # Errors
    /// Database errors.
    pub async fn of_day(
        conn: &mut AsyncPgConnection,
        day: NaiveDate,
        instances: &[Uuid],
    ) -> QueryResult<Vec<(Uuid, i64)>> {
        instance_usage::table
            .filter(instance_usage::day.eq(day))
            .filter(instance_usage::instance_id.eq_any(instances))
            .select((instance_usage::instance_id, instance_usage::commands))
            .load(conn)
            .await
    }

    /// One instance's days from `first` to `last` (inclusive) that have a count, oldest first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn range(
        conn: &mut AsyncPgConnection,
        instance: Uuid,
        first: NaiveDate,
        last: NaiveDate,
    ) -> QueryResult<Vec<Self>> {
        instance_usage::table
            .filter(instance_usage::instance_id.eq(instance))
            .filter(instance_usage::day.between(first, last))
            .order(instance_usage::day.asc())
            .select(Self::as_select())
            .load(conn)
            .await
    }
}
