//! Attribute definitions, read from the RFC 7643 schema documents shipped in `schemas/scim/`.
//!
//! The very documents the reference server serves at `/Schemas` are compiled into the binary and
//! parsed here, so the characteristics the server enforces (caseExact, mutability, returned, …)
//! and the ones it advertises can never drift apart.

use serde_json::Value;
use std::sync::OnceLock;

pub const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const LIST_RESPONSE_URN: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_OP_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const SEARCH_REQUEST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
pub const BULK_REQUEST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
pub const BULK_RESPONSE_URN: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
pub const SPC_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
pub const RESOURCE_TYPE_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
pub const SCHEMA_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// The raw schema documents, as served at `/Schemas`.
pub const USER_SCHEMA_JSON: &str = include_str!("../../schemas/scim/User.json");
pub const GROUP_SCHEMA_JSON: &str = include_str!("../../schemas/scim/Group.json");
pub const ENTERPRISE_SCHEMA_JSON: &str = include_str!("../../schemas/scim/EnterpriseUser.json");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Binary,
    Reference,
    Complex,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uniqueness {
    None,
    Server,
    Global,
}

/// One attribute's characteristics (RFC 7643 §7), with the §2.2 defaults for omitted ones.
#[derive(Debug, Clone)]
pub struct AttributeDef {
    pub name: String,
    pub attr_type: AttrType,
    pub multi_valued: bool,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    pub uniqueness: Uniqueness,
    pub canonical_values: Vec<String>,
    pub reference_types: Vec<String>,
    pub sub_attributes: Vec<AttributeDef>,
}

impl AttributeDef {
    /// A sub-attribute by name, case-insensitively (RFC 7643 §2.1).
    pub fn sub(&self, name: &str) -> Option<&AttributeDef> {
        self.sub_attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    fn simple(name: &str, attr_type: AttrType) -> Self {
        AttributeDef {
            name: name.into(),
            attr_type,
            multi_valued: false,
            required: false,
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            canonical_values: vec![],
            reference_types: vec![],
            sub_attributes: vec![],
        }
    }

    fn from_json(v: &Value) -> Result<Self, String> {
        let name = v
            .get("name")
            .and_then(Value::as_str)
            .ok_or("attribute without a name")?;
        let s = |k: &str| v.get(k).and_then(Value::as_str);
        let attr_type = match s("type").unwrap_or("string") {
            "string" => AttrType::String,
            "boolean" => AttrType::Boolean,
            "decimal" => AttrType::Decimal,
            "integer" => AttrType::Integer,
            "dateTime" => AttrType::DateTime,
            "binary" => AttrType::Binary,
            "reference" => AttrType::Reference,
            "complex" => AttrType::Complex,
            other => return Err(format!("attribute {name}: unknown type {other:?}")),
        };
        let mutability = match s("mutability").unwrap_or("readWrite") {
            "readOnly" => Mutability::ReadOnly,
            "readWrite" => Mutability::ReadWrite,
            "immutable" => Mutability::Immutable,
            "writeOnly" => Mutability::WriteOnly,
            other => return Err(format!("attribute {name}: unknown mutability {other:?}")),
        };
        let returned = match s("returned").unwrap_or("default") {
            "always" => Returned::Always,
            "never" => Returned::Never,
            "default" => Returned::Default,
            "request" => Returned::Request,
            other => return Err(format!("attribute {name}: unknown returned {other:?}")),
        };
        let uniqueness = match s("uniqueness").unwrap_or("none") {
            "none" => Uniqueness::None,
            "server" => Uniqueness::Server,
            "global" => Uniqueness::Global,
            other => return Err(format!("attribute {name}: unknown uniqueness {other:?}")),
        };
        let strings = |k: &str| -> Vec<String> {
            v.get(k)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default()
        };
        let sub_attributes = match v.get("subAttributes").and_then(Value::as_array) {
            Some(subs) => subs
                .iter()
                .map(AttributeDef::from_json)
                .collect::<Result<_, _>>()?,
            None => vec![],
        };
        Ok(AttributeDef {
            name: name.into(),
            attr_type,
            multi_valued: v
                .get("multiValued")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            required: v.get("required").and_then(Value::as_bool).unwrap_or(false),
            case_exact: v.get("caseExact").and_then(Value::as_bool).unwrap_or(false),
            mutability,
            returned,
            uniqueness,
            canonical_values: strings("canonicalValues"),
            reference_types: strings("referenceTypes"),
            sub_attributes,
        })
    }
}

/// One schema (core or extension) and its top-level attributes.
#[derive(Debug, Clone)]
pub struct SchemaDef {
    pub id: String,
    pub name: String,
    pub attributes: Vec<AttributeDef>,
    /// The document exactly as served at `/Schemas/{id}`.
    pub document: Value,
}

impl SchemaDef {
    pub fn parse(text: &str) -> Result<Self, String> {
        let document: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let id = document
            .get("id")
            .and_then(Value::as_str)
            .ok_or("schema without id")?
            .to_string();
        let name = document
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let attributes = document
            .get("attributes")
            .and_then(Value::as_array)
            .ok_or("schema without attributes")?
            .iter()
            .map(AttributeDef::from_json)
            .collect::<Result<_, _>>()?;
        Ok(SchemaDef {
            id,
            name,
            attributes,
            document,
        })
    }

    pub fn attribute(&self, name: &str) -> Option<&AttributeDef> {
        self.attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

/// A resource type: its endpoint, core schema and extensions (RFC 7643 §6).
#[derive(Debug, Clone)]
pub struct ResourceType {
    pub name: String,
    pub endpoint: String,
    pub schema: SchemaDef,
    /// Extension schemas and whether each is required.
    pub extensions: Vec<(SchemaDef, bool)>,
    /// id, externalId and meta (RFC 7643 §3.1), which belong to no schema document.
    pub common: Vec<AttributeDef>,
}

/// Where an attribute path points: which schema holds it and its definition.
#[derive(Debug, Clone, Copy)]
pub struct Resolved<'a> {
    /// `None` for core and common attributes, the URN for extension attributes.
    pub extension: Option<&'a str>,
    pub attr: &'a AttributeDef,
    pub sub: Option<&'a AttributeDef>,
}

impl<'a> Resolved<'a> {
    /// The definition of the innermost attribute named.
    pub fn leaf(&self) -> &'a AttributeDef {
        self.sub.unwrap_or(self.attr)
    }
}

impl ResourceType {
    fn new(
        name: &str,
        endpoint: &str,
        schema: SchemaDef,
        extensions: Vec<(SchemaDef, bool)>,
    ) -> Self {
        ResourceType {
            name: name.into(),
            endpoint: endpoint.into(),
            schema,
            extensions,
            common: common_attributes(),
        }
    }

    /// Every schema URN a resource of this type may carry.
    pub fn schema_urns(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.schema.id.as_str())
            .chain(self.extensions.iter().map(|(s, _)| s.id.as_str()))
    }

    /// An extension schema by URN, case-insensitively.
    pub fn extension(&self, urn: &str) -> Option<&SchemaDef> {
        self.extensions
            .iter()
            .map(|(s, _)| s)
            .find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    /// Resolves `[urn:]name[.sub]` against this type, case-insensitively.
    ///
    /// `urn` is the schema prefix already split off (scim_v2's `AttrPath` keeps it separately).
    pub fn resolve(
        &self,
        urn: Option<&str>,
        name: &str,
        sub: Option<&str>,
    ) -> Option<Resolved<'_>> {
        let (extension, attr) = match urn {
            Some(u) if u.eq_ignore_ascii_case(&self.schema.id) => (None, self.core_attr(name)?),
            Some(u) => {
                let ext = self.extension(u)?;
                (Some(ext.id.as_str()), ext.attribute(name)?)
            }
            None => (None, self.core_attr(name)?),
        };
        let sub = match sub {
            Some(s) => Some(attr.sub(s)?),
            None => None,
        };
        Some(Resolved {
            extension,
            attr,
            sub,
        })
    }

    /// Splits a full attribute path string (`urn:…:User:name.givenName`, `emails.value`, `name`)
    /// into (urn, name, sub) and resolves it.
    pub fn resolve_str(&self, path: &str) -> Option<Resolved<'_>> {
        let (urn, rest) = split_urn(path, self);
        let (name, sub) = match rest.split_once('.') {
            Some((n, s)) => (n, Some(s)),
            None => (rest, None),
        };
        self.resolve(urn, name, sub)
    }

    fn core_attr(&self, name: &str) -> Option<&AttributeDef> {
        self.schema.attribute(name).or_else(|| {
            self.common
                .iter()
                .find(|a| a.name.eq_ignore_ascii_case(name))
        })
    }
}

/// Splits a leading schema URN off an attribute path, if the path starts with one this type knows.
///
/// URNs contain dots (`…:2.0:User`), so the split is done against the known URNs rather than by
/// looking for the first dot.
pub fn split_urn<'p>(path: &'p str, rt: &ResourceType) -> (Option<&'p str>, &'p str) {
    for urn in rt.schema_urns() {
        if path.len() > urn.len()
            && path.is_char_boundary(urn.len())
            && path[..urn.len()].eq_ignore_ascii_case(urn)
            && path.as_bytes()[urn.len()] == b':'
        {
            return (Some(&path[..urn.len()]), &path[urn.len() + 1..]);
        }
        if path.eq_ignore_ascii_case(urn) {
            return (Some(path), "");
        }
    }
    (None, path)
}

/// id, externalId and meta: defined by RFC 7643 §3.1 rather than by a schema document.
fn common_attributes() -> Vec<AttributeDef> {
    let mut id = AttributeDef::simple("id", AttrType::String);
    id.case_exact = true;
    id.mutability = Mutability::ReadOnly;
    id.returned = Returned::Always;
    id.uniqueness = Uniqueness::Server;
    let mut external_id = AttributeDef::simple("externalId", AttrType::String);
    external_id.case_exact = true;
    let mut meta = AttributeDef::simple("meta", AttrType::Complex);
    meta.mutability = Mutability::ReadOnly;
    let ro = |name: &str, t: AttrType, case_exact: bool| {
        let mut a = AttributeDef::simple(name, t);
        a.mutability = Mutability::ReadOnly;
        a.case_exact = case_exact;
        a
    };
    meta.sub_attributes = vec![
        ro("resourceType", AttrType::String, true),
        ro("created", AttrType::DateTime, false),
        ro("lastModified", AttrType::DateTime, false),
        ro("location", AttrType::Reference, true),
        ro("version", AttrType::String, true),
    ];
    let mut schemas = AttributeDef::simple("schemas", AttrType::Reference);
    schemas.multi_valued = true;
    schemas.case_exact = true;
    schemas.returned = Returned::Always;
    vec![id, external_id, meta, schemas]
}

/// The schemas and resource types the reference server offers and the runner checks against.
#[derive(Debug)]
pub struct Registry {
    pub user: ResourceType,
    pub group: ResourceType,
}

impl Registry {
    fn load() -> Result<Self, String> {
        let user = SchemaDef::parse(USER_SCHEMA_JSON)?;
        let group = SchemaDef::parse(GROUP_SCHEMA_JSON)?;
        let enterprise = SchemaDef::parse(ENTERPRISE_SCHEMA_JSON)?;
        Ok(Registry {
            user: ResourceType::new("User", "/Users", user, vec![(enterprise, false)]),
            group: ResourceType::new("Group", "/Groups", group, vec![]),
        })
    }

    /// The built-in registry. The documents are compiled in and covered by tests, so a parse failure
    /// is a build defect, not an input error.
    pub fn builtin() -> &'static Registry {
        static REGISTRY: OnceLock<Registry> = OnceLock::new();
        REGISTRY.get_or_init(|| match Registry::load() {
            Ok(r) => r,
            Err(e) => panic!("built-in SCIM schema documents are invalid: {e}"),
        })
    }

    pub fn resource_types(&self) -> [&ResourceType; 2] {
        [&self.user, &self.group]
    }

    /// Every schema document, core first.
    pub fn schemas(&self) -> Vec<&SchemaDef> {
        let mut out = vec![&self.user.schema, &self.group.schema];
        out.extend(self.user.extensions.iter().map(|(s, _)| s));
        out
    }

    pub fn schema(&self, urn: &str) -> Option<&SchemaDef> {
        self.schemas()
            .into_iter()
            .find(|s| s.id.eq_ignore_ascii_case(urn))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_documents_parse_with_rfc_characteristics() {
        let reg = Registry::builtin();
        let user_name = reg.user.resolve_str("userName").unwrap().leaf();
        assert!(user_name.required);
        assert!(!user_name.case_exact);
        assert_eq!(user_name.uniqueness, Uniqueness::Server);
        let pw = reg.user.resolve_str("PASSWORD").unwrap().leaf();
        assert_eq!(pw.returned, Returned::Never);
        assert_eq!(pw.mutability, Mutability::WriteOnly);
        let email_type = reg.user.resolve_str("emails.type").unwrap().leaf();
        assert_eq!(email_type.canonical_values, ["work", "home", "other"]);
        let id = reg.group.resolve_str("id").unwrap().leaf();
        assert_eq!(id.returned, Returned::Always);
        let member_value = reg.group.resolve_str("members.value").unwrap().leaf();
        assert_eq!(member_value.mutability, Mutability::Immutable);
    }

    #[test]
    fn urn_qualified_paths_resolve() {
        let reg = Registry::builtin();
        let r = reg
            .user
            .resolve_str(
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName",
            )
            .unwrap();
        assert_eq!(r.extension, Some(ENTERPRISE_URN));
        assert_eq!(r.leaf().mutability, Mutability::ReadOnly);
        let core = reg
            .user
            .resolve_str("urn:ietf:params:scim:schemas:core:2.0:User:name.givenName")
            .unwrap();
        assert_eq!(core.extension, None);
        assert_eq!(core.leaf().name, "givenName");
        assert!(reg.user.resolve_str("nosuch").is_none());
        assert!(reg.user.resolve_str("meta.lastModified").is_some());
    }
}
