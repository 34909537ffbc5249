//! Fault switches: each one makes the reference server break exactly one rule.
//!
//! They exist to prove the conformance checks honest: a check that still passes with its fault
//! switched on cannot fail, and so proves nothing. Every fault names the rule and where the RFC
//! (or the vendor contract) states it.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

macro_rules! faults {
    ($( $variant:ident = $name:literal, $section:literal, $rule:literal; )*) => {
        /// One deliberate defect of the reference server.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Fault { $( $variant, )* }

        impl Fault {
            pub const ALL: &'static [Fault] = &[ $( Fault::$variant, )* ];

            /// The name used with `--fault`.
            pub fn name(self) -> &'static str {
                match self { $( Fault::$variant => $name, )* }
            }

            /// Where the broken rule is written.
            pub fn section(self) -> &'static str {
                match self { $( Fault::$variant => $section, )* }
            }

            /// The rule this fault breaks, in one line.
            pub fn rule(self) -> &'static str {
                match self { $( Fault::$variant => $rule, )* }
            }
        }
    };
}

faults! {
    NumericId = "numeric-id", "RFC 7643 §3.1",
        "id is a string; with this fault ids are served as JSON numbers";
    NoLocation = "no-location", "RFC 7644 §3.3",
        "a 201 Created carries a Location header with the new resource's URI";
    Create200 = "create-200", "RFC 7644 §3.3",
        "a successful POST answers 201 Created, not 200";
    FilterIgnored = "filter-ignored", "RFC 7644 §3.4.2.2",
        "a list request honours its filter; with this fault every resource is returned";
    FilterCaseSensitive = "filter-case-sensitive", "RFC 7644 §3.4.2.2, RFC 7643 §2.2",
        "string comparisons on caseExact=false attributes ignore case; with this fault they do not";
    InvalidFilterAccepted = "invalid-filter-accepted", "RFC 7644 §3.4.2.2, §3.12",
        "an unparsable filter gets 400 invalidFilter; with this fault it is ignored";
    UsernameCaseSensitive = "username-case-sensitive", "RFC 7643 §4.1.1",
        "userName is unique case-insensitively; with this fault 'Bob' and 'bob' may coexist";
    DuplicateUsername = "duplicate-username", "RFC 7644 §3.3",
        "a create that violates uniqueness answers 409 uniqueness; with this fault it succeeds";
    ErrorStatusNumber = "error-status-number", "RFC 7644 §3.12",
        "the Error body's status is a JSON string; with this fault it is a number";
    ErrorPlainText = "error-plain-text", "RFC 7644 §3.12",
        "errors are SCIM Error JSON bodies; with this fault they are plain text";
    NoScimType = "no-scim-type", "RFC 7644 §3.12",
        "400 errors carry the scimType keyword of Table 9; with this fault it is omitted";
    PatchRemoveFilterAll = "patch-remove-filter-all", "RFC 7644 §3.5.2.2",
        "remove with a value-filter path removes only the matching values; with this fault it removes them all";
    PatchNotAtomic = "patch-not-atomic", "RFC 7644 §3.5.2",
        "a PATCH is all or nothing; with this fault operations before a failing one are kept";
    PatchOpCaseSensitive = "patch-op-case-sensitive", "RFC 7644 §3.5.2",
        "op names are matched case-insensitively; with this fault 'Replace' is rejected";
    IgnoreIfMatch = "ignore-if-match", "RFC 7644 §3.14",
        "a stale If-Match gets 412 Precondition Failed; with this fault the write goes through";
    IgnoreIfNoneMatch = "ignore-if-none-match", "RFC 7644 §3.14",
        "a GET whose If-None-Match names the current version gets 304; with this fault 200";
    NoEtag = "no-etag", "RFC 7644 §3.14",
        "a server advertising etag support returns an ETag header; with this fault it does not";
    VersionUnchanged = "version-unchanged", "RFC 7644 §3.14, RFC 7643 §3.1",
        "meta.version and the ETag change when the resource changes; with this fault they stay the same";
    PasswordReturned = "password-returned", "RFC 7643 §4.1.1, §7",
        "password is returned=never; with this fault it appears in responses";
    WrongContentType = "wrong-content-type", "RFC 7644 §3.1, §8.1",
        "responses are application/scim+json; with this fault they are application/json";
    NoAuth = "no-auth", "RFC 7644 §2",
        "requests without valid credentials get 401; with this fault they are served";
    NoWwwAuthenticate = "no-www-authenticate", "RFC 7644 §2, RFC 7235 §3.1",
        "a 401 carries a WWW-Authenticate challenge; with this fault it does not";
    DeleteIgnored = "delete-ignored", "RFC 7644 §3.6",
        "a deleted resource is gone (404 afterwards); with this fault DELETE answers 204 but keeps it";
    SortIgnored = "sort-ignored", "RFC 7644 §3.4.2.3",
        "sortBy orders the results; with this fault the order is unchanged";
    CountIgnored = "count-ignored", "RFC 7644 §3.4.2.4",
        "count bounds the page size; with this fault every result is returned";
    StartIndexZeroBased = "start-index-zero-based", "RFC 7644 §3.4.2.4",
        "startIndex is 1-based; with this fault it is treated as 0-based";
    TotalResultsPage = "total-results-page", "RFC 7644 §3.4.2.4",
        "totalResults counts every match, not just the page; with this fault it counts the page";
    AttributesIgnored = "attributes-ignored", "RFC 7644 §3.9",
        "attributes= limits the returned attributes; with this fault everything is returned";
    ExcludedDropsAlways = "excluded-drops-always", "RFC 7644 §3.9, RFC 7643 §7",
        "excludedAttributes never removes returned=always attributes; with this fault it removes id";
    NoMeta = "no-meta", "RFC 7643 §3.1",
        "resources carry meta (resourceType, created, lastModified, location, version); with this fault they do not";
    ReadOnlyHonoured = "readonly-honoured", "RFC 7644 §3.3, RFC 7643 §7",
        "readOnly attributes sent by the client are ignored; with this fault a client-sent id is used";
    PutMerges = "put-merges", "RFC 7644 §3.5.1",
        "PUT replaces the resource; with this fault attributes not sent are kept";
    UnknownIdEmpty = "unknown-id-200", "RFC 7644 §3.4.1, §3.12",
        "a GET of an unknown id answers 404; with this fault 200 with an empty body";
    ListNoSchemas = "list-no-schemas", "RFC 7644 §3.4.2",
        "a ListResponse names its schema URN; with this fault schemas is missing";
    UserGroupsMissing = "user-groups-missing", "RFC 7643 §4.1.2",
        "User.groups lists the groups the user belongs to; with this fault it is never returned";
    DiscoveryWritable = "discovery-writable", "RFC 7644 §4",
        "discovery endpoints are read-only (405 on writes); with this fault a write answers 200";
    NoBodyLimit = "no-body-limit", "RFC 7644 §3.7.4, RFC 9110 §15.5.14",
        "a body over the advertised limit gets 413; with this fault it is processed";
    BulkIdUnresolved = "bulk-id-unresolved", "RFC 7644 §3.7.2",
        "bulkId references are replaced by the new resource's id; with this fault they are stored verbatim";
    BulkFailOnErrorsIgnored = "bulk-fail-on-errors-ignored", "RFC 7644 §3.7.3",
        "a Bulk request stops after failOnErrors errors; with this fault every operation runs";
    SearchMissing = "search-missing", "RFC 7644 §3.4.3",
        "POST /.search queries like GET; with this fault it answers 404";
    MembersLostOnRace = "members-lost-on-race", "RFC 7644 §3.5.2",
        "concurrent member adds to one group all take effect; with this fault a read-modify-write race can drop them";
    Delete200 = "delete-200", "RFC 7644 §3.6",
        "a successful DELETE answers 204 No Content; with this fault 200 with a body";
    SpcMissingEtag = "spc-missing-etag", "RFC 7643 §5",
        "ServiceProviderConfig has an etag member; with this fault it is left out, as in the RFC 7643 §8.7.2 listing";
    DiscoveryBareArrays = "discovery-bare-arrays", "RFC 7644 §4",
        "/ResourceTypes and /Schemas answer a ListResponse; with this fault a bare JSON array, as in the RFC 7643 §8 examples";
    SchemaIdIgnored = "schema-id-ignored", "RFC 7644 §4",
        "GET /Schemas/{urn} returns that one schema (404 if unknown); with this fault it returns the whole list";
    AnyTokenAccepted = "any-token-accepted", "RFC 7644 §2, §3.12",
        "an unknown bearer token gets 401; with this fault any token is accepted, only its presence is checked";
    ScimJson415 = "scim-json-415", "RFC 7644 §3.8",
        "bodies labelled application/scim+json are accepted; with this fault only application/json is, scim+json gets 415";
    UsernameOptional = "username-optional", "RFC 7643 §4.1.1",
        "a User without a non-empty userName is refused with 400; with this fault the server fills one in";
    PutCreates = "put-creates", "RFC 7644 §3.5.1",
        "PUT to an unknown id answers 404; with this fault it creates the resource under that id (upsert)";
    PatchAddReplaces = "patch-add-replaces", "RFC 7644 §3.5.2.1",
        "PATCH add appends to multi-valued attributes; with this fault every add is applied as a replace";
    PatchReadOnlyIgnored = "patch-readonly-ignored", "RFC 7644 §3.5.2",
        "a PATCH operation on a readOnly attribute fails with 400 mutability; with this fault it is silently skipped";
    PatchReplaceUnsetNoTarget = "patch-replace-unset-notarget", "RFC 7644 §3.5.2.3",
        "replace on an unassigned attribute acts as add; with this fault it fails with 400 noTarget";
    GroupDisplayNameOptional = "group-displayname-optional", "RFC 7643 §4.2",
        "a Group without displayName is refused with 400; with this fault the server fills one in (the §8.7.1 sample says required: false)";
    MembersDroppedOnCreate = "members-dropped-on-create", "RFC 7643 §4.2, RFC 7644 §3.3",
        "members sent with POST /Groups are stored; with this fault they are dropped (only PATCH adds members)";
    UniquenessRace = "uniqueness-race", "RFC 7644 §3.3, RFC 7643 §4.1.1",
        "userName stays unique under concurrent creates; with this fault the check and the insert race, so parallel creates of one name can all succeed";
    ExtensionDropped = "extension-dropped", "RFC 7643 §3.3, §4.3",
        "extension attributes sent on create are stored; with this fault the enterprise extension is silently dropped";
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Fault {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Fault::ALL
            .iter()
            .copied()
            .find(|f| f.name() == s)
            .ok_or_else(|| {
                format!("unknown fault {s:?}; `scimtest serve --list-faults` lists the valid names")
            })
    }
}

/// The set of faults switched on for one server.
#[derive(Debug, Clone, Default)]
pub struct Faults(BTreeSet<Fault>);

impl Faults {
    pub fn new(faults: impl IntoIterator<Item = Fault>) -> Self {
        Faults(faults.into_iter().collect())
    }

    pub fn on(&self, fault: Fault) -> bool {
        self.0.contains(&fault)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = Fault> + '_ {
        self.0.iter().copied()
    }
}

/// The text `--list-faults` prints: one fault a line, with the rule and its section.
pub fn listing() -> String {
    let width = Fault::ALL.iter().map(|f| f.name().len()).max().unwrap_or(0);
    let mut out = String::new();
    for f in Fault::ALL {
        out.push_str(&format!(
            "{:width$}  {}  [{}]\n",
            f.name(),
            f.rule(),
            f.section()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = BTreeSet::new();
        for f in Fault::ALL {
            assert!(seen.insert(f.name()), "duplicate fault name {}", f.name());
            assert_eq!(f.name().parse::<Fault>(), Ok(*f));
            assert!(f.section().contains("RFC"));
        }
        assert!(Fault::ALL.len() >= 25);
        assert!("nope".parse::<Fault>().is_err());
    }
}
