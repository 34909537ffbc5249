// A small in-memory SCIM 2.0 service provider built on SCIMMY and scimmy-routers,
// for scimtest's interop lane (tests/interop/run_servers.sh).
//
// The app supplies only what SCIMMY leaves to an implementer: storage (the
// ingress/egress/degress handlers), authentication, and the base URI used for
// meta.location. Everything the protocol layer does (routing, status codes,
// PATCH, filtering, sorting, paging, error bodies) is SCIMMY's own behaviour,
// which is what the lane tests. The few choices the app makes are listed here,
// so that a failure can be traced either to SCIMMY or to this file:
//
//   * ids are random UUIDs; meta.created and meta.lastModified are set on
//     create and on every write (PUT, and PATCH, which SCIMMY turns into a write);
//   * userName must be unique among Users (RFC 7643 §4.1.1), compared after the
//     PRECIS preparation RFC 7644 §5 asks for (width mapping, case mapping, NFC):
//     a clash answers 409 with scimType "uniqueness";
//   * a write or delete of an unknown id answers 404;
//   * User.groups (read-only) is computed from the Groups' members on read,
//     and deleting a User removes it from every Group's members;
//   * passwords are kept in memory apart from the records (never returned);
//   * list requests return every stored resource whose SCIM representation (as
//     SCIMMY renders it, plus the stored password for equality filters) matches
//     the request's filter, using SCIMMY's own SCIMMY.Types.Filter.match; SCIMMY
//     then sorts and pages;
//   * GET /ServiceProviderConfig needs no token (RFC 7643 §5); everything else does.
//
// Settings, from the environment:
//   SCIM_TOKEN  the bearer token every request must carry (required; never logged)
//   PORT        the TCP port to listen on, on 127.0.0.1 only (required)
//
// The SCIM base URL is http://127.0.0.1:PORT/scim/v2.

import {randomUUID, timingSafeEqual, createHash} from "node:crypto";
import express from "express";
import SCIMMY from "scimmy";
import SCIMMYRouters from "scimmy-routers";

const HOST = "127.0.0.1";
const BASE_PATH = "/scim/v2";

const token = process.env.SCIM_TOKEN ?? "";
const port = Number.parseInt(process.env.PORT ?? "", 10);
if (!token) {
    console.error("scimmy app: SCIM_TOKEN is not set");
    process.exit(2);
}
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    console.error("scimmy app: PORT must be a TCP port number");
    process.exit(2);
}

// Compare digests, so that neither the length nor the content of the token
// leaks through timing.
const digest = (value) => createHash("sha256").update(value, "utf8").digest();
const tokenDigest = digest(token);

function authenticate(req) {
    // RFC 7643 §5 asks that the authentication schemes in /ServiceProviderConfig be
    // readable without credentials. scimmy-routers runs this handler for every
    // route, so the exemption is the app's to make.
    if (req.method === "GET" && req.path === "/ServiceProviderConfig") return undefined;
    const header = req.get("authorization") ?? "";
    const match = /^bearer\s+(.+)$/i.exec(header.trim());
    if (!match || !timingSafeEqual(digest(match[1]), tokenDigest)) {
        // scimmy-routers turns any exception here into a 401 SCIM error.
        throw new Error("Missing or invalid bearer token");
    }
    // No /Me support: returning no user id makes scimmy-routers answer 501 there.
    return undefined;
}

// ---------------------------------------------------------------- storage

const users = new Map();
const groups = new Map();
// Passwords are kept apart from the records, so that nothing can echo them. A
// write without a password (a PATCH of something else, which SCIMMY turns into a
// full write of what it read, and reads never include the password) keeps the
// stored one.
const passwords = new Map();

const plain = (value) => JSON.parse(JSON.stringify(value));
const now = () => new Date().toISOString();
const notFound = (id) => new SCIMMY.Types.Error(404, null, `Resource ${id} not found`);

// Store what SCIMMY validated, minus what the server owns (id and meta).
function store(map, resource, instance, extra = () => {}) {
    const data = plain(instance);
    delete data.id;
    delete data.meta;
    delete data.password;
    const previous = resource.id === undefined ? undefined : map.get(resource.id);
    if (resource.id !== undefined && previous === undefined) throw notFound(resource.id);
    extra(data, resource.id);
    const id = resource.id ?? randomUUID();
    const stamp = now();
    const record = {
        ...data,
        id,
        meta: {created: previous?.meta.created ?? stamp, lastModified: stamp},
    };
    map.set(id, record);
    return record;
}

// The filter is matched against each resource as the client would see it (SCIMMY's
// own outbound representation: schemas, meta.resourceType, meta.location), plus
// the stored password, so that an equality filter on password works (RFC 7643
// §4.1.1 allows it) although the password itself is never returned. The
// matching stored records are returned.
function matchView(Type, record) {
    const view = plain(new Type.schema(record, "out", Type.basepath()));
    if (Type === SCIMMY.Resources.User && passwords.has(record.id)) view.password = passwords.get(record.id);
    return view;
}

function list(map, resource, Type, decorate = (r) => r) {
    if (resource.id !== undefined) {
        const record = map.get(resource.id);
        if (record === undefined) throw notFound(resource.id);
        return decorate(structuredClone(record));
    }
    const all = [...map.values()].map((r) => decorate(structuredClone(r)));
    if (!resource.filter) return all;
    const views = all.map((record) => ({record, view: matchView(Type, record)}));
    const matched = new Set(resource.filter.match(views.map((v) => v.view)));
    return views.filter((v) => matched.has(v.view)).map((v) => v.record);
}

function remove(map, resource) {
    if (!map.delete(resource.id)) throw notFound(resource.id);
}

// RFC 7644 §5: userName uniqueness is judged on strings prepared as in the PRECIS
// UsernameCaseMapped profile (RFC 7613 §3.2): width mapping of fullwidth and
// halfwidth forms, case mapping, then NFC.
function prepareUserName(value) {
    const widthMapped = [...String(value ?? "")]
        .map((ch) => {
            const cp = ch.codePointAt(0);
            return cp >= 0xff00 && cp <= 0xffef ? ch.normalize("NFKC") : ch;
        })
        .join("");
    return widthMapped.toLowerCase().normalize("NFC");
}

function checkUserName(data, id) {
    const name = prepareUserName(data.userName);
    for (const [otherId, other] of users) {
        if (otherId !== id && prepareUserName(other.userName) === name) {
            throw new SCIMMY.Types.Error(409, "uniqueness", "userName is already taken");
        }
    }
}

function withGroups(user) {
    const memberOf = [...groups.values()]
        .filter((g) => (g.members ?? []).some((m) => m.value === user.id))
        .map((g) => ({value: g.id, display: g.displayName, type: "direct"}));
    if (memberOf.length) user.groups = memberOf;
    return user;
}

SCIMMY.Resources.declare(SCIMMY.Resources.User, {
    extensions: [{schema: SCIMMY.Schemas.EnterpriseUser, required: false}],
    ingress: (resource, instance) => {
        const record = store(users, resource, instance, checkUserName);
        if (instance.password !== undefined) passwords.set(record.id, instance.password);
        return withGroups(structuredClone(record));
    },
    egress: (resource) => list(users, resource, SCIMMY.Resources.User, withGroups),
    degress: (resource) => {
        remove(users, resource);
        passwords.delete(resource.id);
        for (const g of groups.values()) {
            if (g.members?.some((m) => m.value === resource.id)) {
                g.members = g.members.filter((m) => m.value !== resource.id);
                g.meta.lastModified = now();
            }
        }
    },
});

SCIMMY.Resources.declare(SCIMMY.Resources.Group, {
    ingress: (resource, instance) => structuredClone(store(groups, resource, instance)),
    egress: (resource) => list(groups, resource, SCIMMY.Resources.Group),
    degress: (resource) => remove(groups, resource),
});

// ---------------------------------------------------------------- HTTP

const app = express();
app.disable("x-powered-by");
app.use(BASE_PATH, new SCIMMYRouters({
    type: "bearer",
    handler: authenticate,
    baseUri: (req) => `${req.protocol}://${req.get("host")}`,
}));
// For a 5xx, scimmy-routers sends its SCIM error response and then passes the
// error on so that the host app can log it. An Express app without an error
// handler of its own would let Express's final handler see a response that was
// already sent and destroy the socket, so the client's next request on that
// keep-alive connection would be reset. Log the error and stop there.
app.use((err, req, res, next) => {
    console.error(`scimmy app: ${req.method} ${req.path}: ${err.status ?? 500} ${err.message}`);
    if (!res.headersSent) next(err);
});
app.use((req, res) => {
    res.status(404).type("application/scim+json").send(JSON.stringify({
        schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"],
        status: "404",
        detail: "Not found",
    }));
});

const server = app.listen(port, HOST, () => {
    console.log(`scimmy app: serving SCIM on http://${HOST}:${port}${BASE_PATH}`);
});
server.on("error", (err) => {
    console.error(`scimmy app: ${err.message}`);
    process.exit(1);
});
const stop = () => server.close(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
