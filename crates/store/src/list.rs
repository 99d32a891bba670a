//! One builder for every filtered, sorted, paginated list query, so that visibility filtering, subtree
//! filtering, search and paging are written (and tested) once.

use domain::registry::JurisdictionPath;

use crate::db::{Conn, Params, Row, Value};
use crate::{StoreError, subtree_range};

/// Which rows a reader may see: built by the application from `domain::policy::read_filter`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visibility {
    /// Every row.
    Everything,
    /// Rows in one of the subtrees, owned by one of the organizations, or with the given id (a person's own record).
    Some {
        /// Jurisdiction subtrees.
        subtrees: Vec<JurisdictionPath>,
        /// Rows placed at one of these jurisdictions or above it.
        ancestors_of: Vec<JurisdictionPath>,
        /// Owning organizations (matched against `organization_id`).
        organizations: Vec<i64>,
        /// A row id always visible (matched against `id`).
        own_id: Option<i64>,
    },
}

/// A list request.
#[derive(Debug, Clone)]
pub struct ListQuery {
    /// Who may see what.
    pub visibility: Visibility,
    /// Only rows in this subtree.
    pub within: Option<JurisdictionPath>,
    /// Case-insensitive substring search over the table's search columns.
    pub search: Option<String>,
    /// Equality filters: column (from the table's allowed list) and value.
    pub equals: Vec<(&'static str, Value)>,
    /// Extra conditions written by the repository (trusted SQL with `{}` for each of its values, in order).
    pub conditions: Vec<(&'static str, Vec<Value>)>,
    /// Trusted SQL of rows visible to everyone whatever `visibility` says (for example, sent public warnings).
    pub also_visible: Option<&'static str>,
    /// Sort column (from the table's sortable list) and whether descending.
    pub sort: Option<(String, bool)>,
    /// At most this many rows.
    pub limit: i64,
    /// Skip this many rows.
    pub offset: i64,
}

impl ListQuery {
    /// A query that sees `visibility`, first page of `limit` rows.
    pub fn new(visibility: Visibility, limit: i64) -> ListQuery {
        ListQuery {
            visibility,
            within: None,
            search: None,
            equals: Vec::new(),
            conditions: Vec::new(),
            also_visible: None,
            sort: None,
            limit,
            offset: 0,
        }
    }
}

/// A page of rows and the total number of matching rows.
#[derive(Debug)]
pub struct Page<T> {
    /// The rows of this page.
    pub items: Vec<T>,
    /// How many rows match in all.
    pub total: i64,
}

/// The fixed facts of a table for listing.
#[derive(Debug)]
pub struct TableSpec {
    /// The table.
    pub table: &'static str,
    /// The columns to select.
    pub columns: &'static str,
    /// Columns searched by `search`.
    pub search_columns: &'static [&'static str],
    /// Columns that may be sorted on (the first is the default).
    pub sortable: &'static [&'static str],
    /// Whether the table has `path` and `organization_id` columns for visibility filtering.
    pub placed: bool,
    /// Whether the table has an `organization_id` column.
    pub owned: bool,
}

/// Escapes `%`, `_` and `\` for a LIKE pattern with `ESCAPE '\'`.
fn like_pattern(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() + 2);
    escaped.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped.push('%');
    escaped
}

/// Runs `query` against `spec`, returning decoded rows and the total count.
pub async fn run<T>(
    conn: &mut Conn<'_>,
    spec: &TableSpec,
    query: &ListQuery,
    decode: impl Fn(&Row) -> Result<T, StoreError>,
) -> Result<Page<T>, StoreError> {
    let mut params = Params::default();
    let mut clauses: Vec<String> = Vec::new();
    if let Visibility::Some { subtrees, ancestors_of, organizations, own_id } = &query.visibility {
        let mut alternatives = Vec::new();
        if spec.placed {
            for subtree in subtrees {
                let (start, end) = subtree_range(subtree);
                alternatives.push(format!("(path >= {} AND path < {})", params.push(start), params.push(end)));
            }
            let ancestors: Vec<String> = ancestors_of
                .iter()
                .flat_map(|scope| scope.ancestors_and_self())
                .map(|path| params.push(path.as_str().to_string()))
                .collect();
            if !ancestors.is_empty() {
                alternatives.push(format!("path IN ({})", ancestors.join(", ")));
            }
        }
        if spec.owned && !organizations.is_empty() {
            let placeholders: Vec<String> = organizations.iter().map(|id| params.push(*id)).collect();
            alternatives.push(format!("organization_id IN ({})", placeholders.join(", ")));
        }
        if let Some(id) = own_id {
            alternatives.push(format!("id = {}", params.push(*id)));
        }
        if let Some(also) = query.also_visible {
            alternatives.push(format!("({also})"));
        }
        if alternatives.is_empty() {
            return Ok(Page { items: Vec::new(), total: 0 });
        }
        clauses.push(format!("({})", alternatives.join(" OR ")));
    }
    if let Some(within) = &query.within {
        let (start, end) = subtree_range(within);
        clauses.push(format!("path >= {} AND path < {}", params.push(start), params.push(end)));
    }
    if let Some(search) = query.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let pattern = like_pattern(search);
        let placeholder = params.push(pattern);
        let alternatives: Vec<String> =
            spec.search_columns.iter().map(|column| format!("LOWER(COALESCE({column}, '')) LIKE {placeholder} ESCAPE '\\'")).collect();
        clauses.push(format!("({})", alternatives.join(" OR ")));
    }
    for (column, value) in &query.equals {
        clauses.push(format!("{column} = {}", params.push(value.clone())));
    }
    for (template, values) in &query.conditions {
        let mut condition = (*template).to_string();
        for value in values {
            let placeholder = params.push(value.clone());
            condition = condition.replacen("{}", &placeholder, 1);
        }
        clauses.push(condition);
    }
    let where_clause = if clauses.is_empty() { String::new() } else { format!(" WHERE {}", clauses.join(" AND ")) };
    let total: i64 =
        conn.fetch_one(format!("SELECT COUNT(*) AS total FROM {}{where_clause}", spec.table), params.values()).await?.get("total")?;
    let (sort_column, descending) = match &query.sort {
        Some((column, descending)) if spec.sortable.contains(&column.as_str()) => (column.as_str(), *descending),
        _ => (spec.sortable.first().copied().unwrap_or("id"), false),
    };
    let direction = if descending { "DESC" } else { "ASC" };
    let limit = params.push(query.limit.clamp(0, 1000));
    let offset = params.push(query.offset.max(0));
    let sql = format!(
        "SELECT {} FROM {}{where_clause} ORDER BY {sort_column} {direction}, id {direction} LIMIT {limit} OFFSET {offset}",
        spec.columns, spec.table
    );
    let rows = conn.fetch_all(sql, params.values()).await?;
    let items = rows.iter().map(decode).collect::<Result<Vec<_>, _>>()?;
    Ok(Page { items, total })
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(super::like_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
        assert_eq!(super::like_pattern("ABC"), "%abc%");
    }
}
