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
    // ---- faults for the query suites (filter, sort, paging, projection, search) go below ----
    FilterNamesLiteral = "filter-names-literal", "RFC 7644 §3.4.2.2, §3.10",
        "attribute names in filters ignore case and may carry their schema URN; with this fault only the exact short spelling is known (others get 400 invalidFilter)";
    FilterIgnoresCaseExact = "filter-ignores-case-exact", "RFC 7644 §3.4.2.2, RFC 7643 §2.2, §3.1",
        "caseExact attributes (id, externalId) compare with their case in filters; with this fault every string compares without case";
    FilterPrEmpty = "filter-pr-empty", "RFC 7644 §3.4.2.2",
        "pr matches only non-empty values; with this fault an attribute holding \"\" counts as present";
    FilterDatetimeAsString = "filter-datetime-as-string", "RFC 7644 §3.4.2.2, RFC 7643 §2.3.5",
        "gt/ge/lt/le order dateTimes chronologically; with this fault they compare the text, so timezone offsets are misread";
    FilterBooleanOrderSilent = "filter-boolean-order-silent", "RFC 7644 §3.4.2.2",
        "gt/ge/lt/le on a boolean attribute get 400 invalidFilter; with this fault they answer 200 matching nothing";
    FilterLeftToRight = "filter-left-to-right", "RFC 7644 §3.4.2.2",
        "and binds tighter than or; with this fault they are applied left to right (a or b and c reads (a or b) and c)";
    FilterFirstValueOnly = "filter-first-value-only", "RFC 7644 §3.4.2.2",
        "a filter on a multi-valued attribute matches if any value matches; with this fault only the first value is compared";
    ValuePathAnyElement = "value-path-any-element", "RFC 7644 §3.4.2.2",
        "the conditions inside attr[...] must hold for one and the same value; with this fault each may hold for a different value";
    SortFirstValue = "sort-first-value", "RFC 7644 §3.4.2.3",
        "sorting by a multi-valued attribute uses its primary value; with this fault always the first value";
    SortMissingFirst = "sort-missing-first", "RFC 7644 §3.4.2.3",
        "resources without the sort value come last ascending and first descending; with this fault the reverse (SQL NULLS FIRST)";
    SortCaseSensitive = "sort-case-sensitive", "RFC 7644 §3.4.2.3, RFC 7643 §2.2",
        "sorting ignores case unless the attribute is caseExact; with this fault strings sort by code point ('B' before 'a')";
    PagingOutOfRangeRefused = "paging-out-of-range-refused", "RFC 7644 §3.4.2.4",
        "startIndex below 1 counts as 1, a negative count as 0, a startIndex past the end gives an empty page; with this fault they get 400 invalidValue";
    SearchSchemasUnchecked = "search-schemas-unchecked", "RFC 7644 §3.4.3",
        "a SearchRequest without its schema URN is refused with 400 invalidSyntax; with this fault it is run";
    UnknownParamsRefused = "unknown-params-refused", "RFC 7644 §3.4.2",
        "unknown query parameters on a list request are ignored; with this fault they get 400 invalidValue";
    UnfilteredListRefused = "unfiltered-list-refused", "RFC 7644 §3.4.2.1, §3.12",
        "a query refused as too broad answers 400 tooMany; with this fault a list without filter is refused with 400 invalidFilter";
    RootQueryStrict = "root-query-strict", "RFC 7644 §3.4.2.1",
        "in a root query an attribute a type lacks counts as unassigned; with this fault it gets 400 invalidFilter";
    SearchMembersIgnored = "search-members-ignored", "RFC 7644 §3.4.3",
        "every GET query parameter works as a SearchRequest member; with this fault only filter is honoured";
    RootSearchUsersOnly = "root-search-users-only", "RFC 7644 §3.4.2.1, §3.4.3",
        "a query at the root spans every resource type; with this fault it searches Users only";
    // ---- faults for the modify suites (PATCH, PUT, ETag, DELETE) go below ----
    ImmutableCreateOnly = "immutable-create-only", "RFC 7644 §3.5.1, §3.5.2, RFC 7643 §7",
        "an immutable attribute without a value can be set by PUT or PATCH; with this fault immutable values are only taken on create (PUT drops them, PATCH answers 400 mutability)";
    ImmutableChangeable = "immutable-changeable", "RFC 7644 §3.5.2, RFC 7643 §7",
        "an immutable attribute that has a value cannot be changed (400 mutability); with this fault PATCH changes it";
    PatchSchemasStale = "patch-schemas-stale", "RFC 7644 §3.5.2",
        "a PATCH adding extension attributes adds the extension URN to schemas; with this fault schemas is left as it was";
    PatchOpsReordered = "patch-ops-reordered", "RFC 7644 §3.5.2",
        "PATCH operations apply in request order; with this fault remove operations run after all the others";
    PrimaryNotCleared = "primary-not-cleared", "RFC 7644 §3.5.2, RFC 7643 §2.4",
        "marking a value primary by PATCH clears primary on the other values; with this fault the old primary stays marked";
    PatchAddSingleIgnored = "patch-add-single-ignored", "RFC 7644 §3.5.2.1",
        "add sets single-valued attributes too; with this fault add only appends to multi-valued attributes and other adds are silently ignored";
    PatchNoopBumpsVersion = "patch-noop-bumps-version", "RFC 7644 §3.5.2.1, §3.14",
        "a PATCH that changes nothing keeps meta.lastModified and the version; with this fault every PATCH bumps them";
    PatchAddDuplicates = "patch-add-duplicates", "RFC 7644 §3.5.2.1",
        "add of a value already present changes nothing; with this fault the value is appended again";
    PatchRemovePlainIgnored = "patch-remove-plain-ignored", "RFC 7644 §3.5.2.2",
        "remove with a plain path (no value filter) unassigns the attribute; with this fault it answers success but changes nothing";
    PatchReplaceAppends = "patch-replace-appends", "RFC 7644 §3.5.2.3",
        "replace of a multi-valued attribute swaps the whole set; with this fault the values are appended, as with add";
    PatchReplaceComplexClears = "patch-replace-complex-clears", "RFC 7644 §3.5.2.3",
        "replace on a complex attribute or one of its sub-attributes keeps the sub-attributes not given; with this fault the whole complex value is replaced";
    PatchReplaceFilterIgnored = "patch-replace-filter-ignored", "RFC 7644 §3.5.2.3",
        "replace through a value filter changes only the matching values; with this fault the filter is ignored and every value is changed";
    PatchEnvelopeLax = "patch-envelope-lax", "RFC 7644 §3.5.2, §3.5.2.1",
        "a PatchOp body needs its URN, a non-empty Operations array and ops add/remove/replace (add with a value); with this fault malformed requests are let through and bad operations skipped";
    PutReadOnlyApplied = "put-readonly-applied", "RFC 7644 §3.5.1, RFC 7643 §4.1.2",
        "readOnly values in a PUT body are ignored; with this fault client-sent groups are stored with the user";
    // ---- faults for the resource suites (schema, discovery, bulk, errors, i18n) go below ----
    SchemaDottedNames = "schema-dotted-names", "RFC 7643 §2.1, §7",
        "attribute names follow ATTRNAME (a letter, then letters, digits, $, - or _); with this fault /Schemas also lists sub-attributes flattened under dotted names (name.givenName)";
    SchemaCharacteristicsOmitted = "schema-characteristics-omitted", "RFC 7643 §2.2, §7, §8.7.1",
        "a definition states every characteristic that differs from the §2.2 defaults; with this fault mutability and returned are left out, so password reads as readWrite and members as readWrite";
    SchemaNestedComplex = "schema-nested-complex", "RFC 7643 §2.3.8",
        "sub-attributes are never complex; with this fault User.addresses gets a complex sub-attribute geo";
    SchemaTypesCapitalized = "schema-types-capitalized", "RFC 7643 §7",
        "attribute types are the §7 words (string, dateTime, …); with this fault they are capitalised (String, DateTime)";
    SchemaComplexNoSubAttributes = "schema-complex-no-subattributes", "RFC 7643 §7",
        "complex attribute definitions list their subAttributes; with this fault the list is left out";
    SchemaExtensionRedefines = "schema-extension-redefines", "RFC 7643 §3.3",
        "extension schemas do not redefine core attribute names; with this fault the enterprise schema also defines displayName";
    ResourceTypeEndpointSingular = "resource-type-endpoint-singular", "RFC 7643 §6",
        "a ResourceType endpoint resolves against the base URL; with this fault it names the singular path (/User), which answers 404";
    DiscoveryQueryApplied = "discovery-query-applied", "RFC 7644 §4",
        "/ResourceTypes and /Schemas ignore paging and sorting and refuse a filter with 403; with this fault count and startIndex page them and a filter is silently ignored";
    SpcRequiresAuth = "spc-requires-auth", "RFC 7643 §5",
        "GET /ServiceProviderConfig (authenticationSchemes) is readable without credentials; with this fault it needs the token";
    Scim1Urns = "scim1-urns", "RFC 7644 §3.13",
        "the server speaks its newest version, SCIM 2.0; with this fault /ServiceProviderConfig names the SCIM 1.1 core URN";
    VersionSegmentIgnored = "version-segment-ignored", "RFC 7644 §3.13",
        "a version segment the server does not speak (/v99/) is refused; with this fault any /vN/ is served as v2";
    JsonAccept406 = "json-accept-406", "RFC 7644 §3.8",
        "Accept: application/json is served; with this fault only application/scim+json is, application/json gets 406";
    Utf8Mangled = "utf8-mangled", "RFC 7644 §3.8",
        "bodies are UTF-8 and non-ASCII text round-trips; with this fault non-ASCII characters are stored as '?' (a Latin-1 column)";
    MeNotFound = "me-404", "RFC 7644 §3.11, §3.12",
        "a server without /Me answers it with 501 Not Implemented; with this fault 404";
    AttributeNamesCaseSensitive = "attribute-names-case-sensitive", "RFC 7643 §2.1, RFC 7644 §3.10",
        "attribute names are case-insensitive; with this fault names in request bodies, attributes= and PATCH paths only match their canonical spelling";
    UrnPrefixUnsupported = "urn-prefix-unsupported", "RFC 7644 §3.10",
        "attribute names may carry their schema URN (urn:…:User:userName); with this fault prefixed names in attributes=, excludedAttributes=, filters, sortBy and PATCH paths are not understood";
    BinaryReencoded = "binary-reencoded", "RFC 7643 §2.3.6",
        "binary values are base64 and come back byte for byte; with this fault they are re-encoded as unpadded base64url";
    RefWrongEndpoint = "ref-wrong-endpoint", "RFC 7643 §2.3.7, §4.2, §4.3",
        "a $ref is the URI of the resource it references; with this fault members' and manager's $ref to a User use the Groups endpoint";
    SingleValueUnwrapped = "single-value-unwrapped", "RFC 7643 §2.4",
        "a multi-valued attribute is an array even with one value; with this fault a one-element array is returned as the bare value";
    MultiplePrimaryKept = "multiple-primary-kept", "RFC 7643 §2.4",
        "at most one value of a multi-valued attribute is primary; with this fault every value sent as primary stays primary";
    PrimaryDefaultTrue = "primary-default-true", "RFC 7643 §2.4",
        "a value without primary counts as primary=false; with this fault filters take the first value of an attribute without a primary as primary";
    DuplicateValuesKept = "duplicate-values-kept", "RFC 7643 §2.4",
        "a multi-valued attribute holds each type/value pair once; with this fault repeated emails are stored as sent";
    ResourceSchemasMissing = "resource-schemas-missing", "RFC 7643 §3",
        "every resource representation has a non-empty schemas array; with this fault Users and Groups are returned without it";
    UndeclaredSchemaKept = "undeclared-schema-kept", "RFC 7643 §3, RFC 7644 §3.3",
        "schemas lists only the core URN and declared extensions; with this fault URNs the resource type does not declare are stored and returned";
    SchemasOrderSensitive = "schemas-order-sensitive", "RFC 7643 §3",
        "the order of the schemas values does not matter; with this fault a create whose schemas does not start with the core URN is refused";
    SchemasOptional = "schemas-optional", "RFC 7643 §3, RFC 7644 §3.3",
        "a create body without schemas is refused with 400; with this fault the core URN is assumed";
    NaturalKeyIds = "natural-key-ids", "RFC 7643 §3.1",
        "ids are unique across resource types and never reused; with this fault the id is the userName (Users) or displayName (Groups)";
    BulkIdAsId = "bulkid-as-id", "RFC 7643 §3.1, RFC 7644 §3.7",
        "ids never contain the reserved word bulkId; with this fault a resource created through Bulk takes the operation's bulkId as its id";
    ExternalIdInvented = "externalid-invented", "RFC 7643 §3.1",
        "only the client sets externalId; with this fault the server fills it with the id when none was sent";
    ExternalIdLowercased = "externalid-lowercased", "RFC 7643 §3.1, §7",
        "externalId is caseExact and kept as sent; with this fault it is returned lower-cased";
    LastModifiedFromClient = "last-modified-from-client", "RFC 7643 §3.1",
        "meta.lastModified moves forward when a resource changes; with this fault a PUT stores the meta.lastModified its body carries";
    MetaVersionMismatch = "meta-version-mismatch", "RFC 7643 §3.1, RFC 7644 §3.14",
        "meta.version equals the ETag header; with this fault it drops the W/ prefix";
    ExtensionFlattened = "extension-flattened", "RFC 7643 §3.3",
        "extension attributes are nested under their schema URN; with this fault the enterprise attributes are returned at the top level";
    PasswordChangeRefused = "password-change-refused", "RFC 7643 §4.1.1, §5",
        "with changePassword advertised, PATCH and PUT can change the password; with this fault a change is refused with 400 mutability";
    EmailDomainKept = "email-domain-kept", "RFC 7643 §4.1.2",
        "email addresses are canonicalised with a lower-case domain; with this fault they are stored as sent";
    ManagerDisplayKept = "manager-display-kept", "RFC 7643 §4.3",
        "manager.displayName is readOnly; with this fault a displayName sent by the client is stored";
    LocationWithQuery = "location-with-query", "RFC 7644 §1.3, RFC 7643 §3.1",
        "URIs the server hands out carry no query string; with this fault meta.location of a GET repeats the request's query";
    BulkResponseUrn = "bulk-response-urn", "RFC 7644 §3.7",
        "a BulkResponse names the BulkResponse URN; with this fault it echoes the BulkRequest URN";
    BulkFailFast = "bulk-fail-fast", "RFC 7644 §3.7, §3.7.3",
        "a processed Bulk request answers 200 and reports failures per operation; with this fault the first failure aborts the request with that operation's error";
    BulkIdNotEchoed = "bulk-id-not-echoed", "RFC 7644 §3.7.3",
        "each Bulk POST result carries the bulkId it was sent with; with this fault it is left out";
    BulkIdOptional = "bulk-id-optional", "RFC 7644 §3.7",
        "a Bulk POST without bulkId fails with 400; with this fault it is processed";
    BulkNoLocation = "bulk-no-location", "RFC 7644 §3.7.3",
        "successful Bulk results carry the resource's location; with this fault they do not";
    BulkStatus200 = "bulk-status-200", "RFC 7644 §3.7.3",
        "a Bulk result's status is what the single request would answer (201, 204, …); with this fault every success says 200";
    BulkErrorNoResponse = "bulk-error-no-response", "RFC 7644 §3.7.3",
        "a failed Bulk operation carries a SCIM Error in response; with this fault only its status is given";
    BulkMaxOperationsIgnored = "bulk-max-operations-ignored", "RFC 7644 §3.7.4",
        "more operations than maxOperations get 413; with this fault they are all processed";
    NoPrecis = "no-precis", "RFC 7644 §5, §7.8",
        "userName uniqueness and userName filters use PRECIS preparation (NFC, width mapping); with this fault the unique index and its lookups only lower-case";
    FilterUnescaped = "filter-unescaped", "RFC 7644 §3.4.2.2, §7.7",
        "an escaped quote in a filter value is a literal character; with this fault the filter is unescaped before parsing, so a value can inject filter syntax";
    UniquenessRace = "uniqueness-race", "RFC 7644 §3.3, RFC 7643 §4.1.1",
        "userName stays unique under concurrent creates; with this fault the check and the insert race, so parallel creates of one name can all succeed";
    ExtensionDropped = "extension-dropped", "RFC 7643 §3.3, §4.3",
        "extension attributes sent on create are stored; with this fault the enterprise extension is silently dropped";
    // ---- faults for the vendor profiles go below ----
    AsanaReactivationAllowed = "asana-reactivation-allowed", "Asana help page; RFC 7643 §4.1.1 (active)",
        "under the asana contract a deprovisioned user cannot be reactivated; with this fault active=true is accepted and sticks";
    AsanaTeamDeleteAllowed = "asana-team-delete-allowed", "Asana help page; RFC 7644 §3.6",
        "under the asana contract teams cannot be deleted through SCIM; with this fault DELETE /Groups/{id} erases the team";
    AsanaAnyDomain = "asana-any-domain", "Asana help page; RFC 7643 §4.1.1 (userName, emails)",
        "under the asana contract userName is an email address and every email is in the organisation's domain; with this fault any userName and domain are accepted";
    AsanaDeleteErases = "asana-delete-erases", "Asana API reference; RFC 7644 §3.6",
        "under the asana contract DELETE /Users/{id} deprovisions (the user stays, inactive); with this fault the user is erased";
    AsanaFormattedRecomputed = "asana-formatted-recomputed", "Asana help page; RFC 7643 §4.1.1 (name)",
        "under the asana contract name.formatted takes precedence; with this fault it is rebuilt from givenName + familyName, which PATCH may then change";
    AsanaPreferredLanguageUpdatable = "asana-preferred-language-updatable", "Asana help page; RFC 7643 §4.1.1",
        "under the asana contract preferredLanguage is set only when the user is created; with this fault PUT and PATCH change it";
    AsanaGroupPatch200 = "asana-group-patch-200", "Asana API reference; RFC 7644 §3.5.2",
        "under the asana contract a team PATCH answers 204 No Content; with this fault 200 with the team";
    AsanaUnsupportedFilterIgnored = "asana-unsupported-filter-ignored", "Asana API reference; RFC 7644 §3.4.2.2, §3.12",
        "under the asana contract a filter other than userName eq / displayName eq gets 400 invalidFilter; with this fault it is ignored and everything is returned";
    LocationWrongBase = "location-wrong-base", "RFC 7644 §3.3, RFC 7643 §3.1",
        "Location and meta.location are the resource's URI under the base URL; with this fault they use an internal mount path (/internal/scim), a reverse-proxy mistake";
    MembersRemoveValueArrayIgnored = "members-remove-value-array-ignored", "RFC 7644 §3.5.2.2; Entra ID",
        "Entra's remove {path: members, value: [{value: id}]} removes just the listed members; with this fault the value is ignored and every member goes (the literal RFC reading)";
    BooleanStringsRejected = "boolean-strings-rejected", "RFC 7643 §2.3.2; Entra ID",
        "Entra sends Booleans as strings (\"False\") in PATCH values; with this fault they are refused with 400 invalidValue";
    PatchDottedKeysIgnored = "patch-dotted-keys-ignored", "RFC 7644 §3.5.2.3; Entra ID",
        "a path-less replace value may name attributes by path (\"name.givenName\", \"urn:…:employeeNumber\"); with this fault such keys are silently ignored";
    MemberRefNullRejected = "member-ref-null-rejected", "RFC 7643 §2.5, §4.2; Entra ID",
        "a member sent with \"$ref\": null is added (null means unassigned); with this fault the PATCH is refused with 400 invalidValue";
    PatchReadonlyResendRejected = "patch-readonly-resend-rejected", "RFC 7644 §3.5.2; Okta group push",
        "a path-less replace re-sending the resource's own unchanged id is accepted; with this fault it fails with 400 mutability";
    ReadonlyInBodyRejected = "readonly-in-body-rejected", "RFC 7644 §3.3, §3.5.1",
        "readOnly attributes in a POST or PUT body (id, meta, groups) are ignored; with this fault the request is refused with 400 mutability";
    ActiveIgnored = "active-ignored", "RFC 7643 §4.1.1 (active)",
        "active written by PUT or PATCH is stored; with this fault the write succeeds but active keeps its old value";
    FormattedNamePrecedence = "formatted-name-precedence", "RFC 7643 §4.1.1 (name)",
        "givenName and familyName are stored as sent; with this fault every write recomputes them from the stored name.formatted, reverting updates that leave formatted alone";
    RetryAfterHttpDate = "retry-after-http-date", "RFC 6585 §4, RFC 9110 §10.2.3; Okta rate limiting",
        "a throttled request gets 429 with Retry-After in integer seconds, the only form Okta honours; with this fault more than 10 requests a second get 429 with an HTTP-date";
    PlainJson415 = "plain-json-415", "RFC 7644 §3.8; Okta SCIM client",
        "request bodies labelled application/json are accepted (Okta sends them); with this fault only application/scim+json is, application/json gets 415";
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
