//! `scimtest run` against HTTPS targets: a TLS terminator (tokio-rustls, certificates made here
//! with rcgen) in front of the real reference server. Verification is on by default, `--cacert`
//! adds a private CA, `--insecure` accepts anything, `--cert/--key` answer a server that demands
//! a client certificate, and bad PEM files are usage errors naming the file.

mod common;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

const BIN: &str = env!("CARGO_BIN_EXE_scimtest");
const TOKEN: &str = "tls-canary-5d0e8b13c4-TOKEN";
/// A run that takes longer than this is a hang: the child is killed and the test fails.
const GUARD: Duration = Duration::from_secs(60);

/// A certificate authority made for one test.
struct Ca {
    issuer: Issuer<'static, KeyPair>,
    der: CertificateDer<'static>,
    pem: String,
}

fn ca(name: &str) -> Ca {
    let key = KeyPair::generate().expect("CA key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, format!("{name} test CA"));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let cert = params.self_signed(&key).expect("CA cert");
    Ca {
        der: cert.der().clone(),
        pem: cert.pem(),
        issuer: Issuer::new(params, key),
    }
}

/// A certificate issued by a CA, with its key.
struct Leaf {
    der: CertificateDer<'static>,
    key_der: Vec<u8>,
    pem: String,
    key_pem: String,
}

impl Leaf {
    fn new(ca: &Ca, names: &[&str], usage: ExtendedKeyUsagePurpose) -> Leaf {
        Leaf::with(ca, names, usage, |_| {})
    }

    fn with(
        ca: &Ca,
        names: &[&str],
        usage: ExtendedKeyUsagePurpose,
        edit: impl FnOnce(&mut CertificateParams),
    ) -> Leaf {
        let key = KeyPair::generate().expect("key");
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).expect("params");
        edit(&mut params);
        params
            .distinguished_name
            .push(DnType::CommonName, "scimtest leaf");
        params.extended_key_usages = vec![usage];
        let cert = params.signed_by(&key, &ca.issuer).expect("sign");
        Leaf {
            der: cert.der().clone(),
            key_der: key.serialize_der(),
            pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    fn server(ca: &Ca) -> Leaf {
        Leaf::new(
            ca,
            &["localhost", "127.0.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
        )
    }

    fn client(ca: &Ca) -> Leaf {
        Leaf::new(ca, &[], ExtendedKeyUsagePurpose::ClientAuth)
    }

    fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()))
    }
}

/// A TLS terminator on 127.0.0.1 in front of an embedded reference server, on its own runtime
/// (dropped with the struct, which ends every connection).
struct TlsTarget {
    rt: Option<tokio::runtime::Runtime>,
    port: u16,
}

impl Drop for TlsTarget {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

impl TlsTarget {
    /// `client_ca`: when set, the server demands a client certificate issued by it.
    fn start(server: &Leaf, client_ca: Option<&Ca>) -> TlsTarget {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let builder = rustls::ServerConfig::builder();
        let builder = match client_ca {
            Some(ca) => {
                let mut roots = rustls::RootCertStore::empty();
                roots.add(ca.der.clone()).expect("client CA");
                let verifier = rustls::server::WebPkiClientVerifier::builder(Arc::new(roots))
                    .build()
                    .expect("client verifier");
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let mut config = builder
            .with_single_cert(vec![server.der.clone()], server.key())
            .expect("server config");
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let port = rt.block_on(async move {
            let backend = scimtest::server::start(scimtest::server::ServerConfig::ephemeral(TOKEN))
                .await
                .expect("reference server");
            let backend_addr = backend.addr;
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let port = listener.local_addr().expect("addr").port();
            tokio::spawn(async move {
                let _keep = backend;
                // Bounded: a test makes a few dozen connections at most.
                for _ in 0..500 {
                    let Ok((tcp, _)) = listener.accept().await else {
                        break;
                    };
                    let acceptor = acceptor.clone();
                    tokio::spawn(proxy(acceptor, tcp, backend_addr));
                }
            });
            port
        });
        TlsTarget { rt: Some(rt), port }
    }

    fn url(&self) -> String {
        format!("https://localhost:{}/scim/v2", self.port)
    }
}

/// One connection: the handshake, then bytes both ways to the reference server, all bounded.
async fn proxy(acceptor: tokio_rustls::TlsAcceptor, tcp: tokio::net::TcpStream, to: SocketAddr) {
    let limit = Duration::from_secs(30);
    let Ok(Ok(mut tls)) = tokio::time::timeout(limit, acceptor.accept(tcp)).await else {
        return;
    };
    let Ok(mut plain) = tokio::net::TcpStream::connect(to).await else {
        return;
    };
    let _ = tokio::time::timeout(limit, tokio::io::copy_bidirectional(&mut tls, &mut plain)).await;
}

/// A private suite folder (one GET, no writes) so these tests do not depend on the shipped
/// suites.
fn suite_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("profiles")).expect("mkdir");
    std::fs::write(
        dir.path().join("profiles/rfc.yaml"),
        "name: rfc\ntitle: TLS tests\nsuites: [\"*\"]\ndomain: example.com\n",
    )
    .expect("profile");
    std::fs::write(
        dir.path().join("tls.yaml"),
        r#"id: tls
title: One request over TLS
area: GET
tests:
  - id: list-users
    title: GET /Users answers a ListResponse
    requirements: [P-3.4.2-01]
    steps:
      - request: {method: GET, path: /Users}
        expect:
          status: 200
          jsonpath:
            - {path: $.totalResults, type: number}
"#,
    )
    .expect("suite");
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    reports: String,
}

impl Outcome {
    fn all(&self) -> String {
        format!(
            "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// `scimtest run --url URL ARGS…` with the token in SCIM_TOKEN, killed (and the test failed) if
/// it outlives GUARD.
fn run(url: &str, args: &[&str]) -> Outcome {
    let suites = suite_dir();
    let reports = tempfile::tempdir().expect("tempdir");
    let child = Command::new(BIN)
        .args(["run", "--timeout", "5s", "--jobs", "1", "--url", url])
        .arg("--suites")
        .arg(suites.path())
        .arg("--report-dir")
        .arg(reports.path())
        .args(args)
        .env("SCIM_TOKEN", TOKEN)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn scimtest");
    let (status, stdout, stderr) =
        common::wait_bounded(child, GUARD, &format!("scimtest run {url} {args:?}"));

    let mut files = String::new();
    for e in std::fs::read_dir(reports.path())
        .expect("reports")
        .flatten()
    {
        if let Ok(b) = std::fs::read(e.path()) {
            files.push_str(&String::from_utf8_lossy(&b));
        }
    }
    let o = Outcome {
        code: status.code(),
        stdout,
        stderr,
        reports: files,
    };
    assert!(!o.stderr.contains("panicked"), "{}", o.all());
    for (what, text) in [
        ("stdout", &o.stdout),
        ("stderr", &o.stderr),
        ("reports", &o.reports),
    ] {
        assert!(!text.contains(TOKEN), "the token leaked into {what}");
    }
    o
}

#[test]
fn unknown_ca_is_refused_with_a_message_about_the_certificate() {
    let ca = ca("private");
    let target = TlsTarget::start(&Leaf::server(&ca), None);
    let o = run(&target.url(), &[]);
    assert_eq!(o.code, Some(3), "{}", o.all());
    assert!(o.stderr.contains("cannot reach"), "{}", o.all());
    assert!(o.stderr.contains("certificate"), "{}", o.all());
    assert!(o.stderr.contains("--cacert"), "{}", o.all());
}

#[test]
fn cacert_trusts_the_private_ca() {
    let ca = ca("private");
    let target = TlsTarget::start(&Leaf::server(&ca), None);
    let dir = tempfile::tempdir().expect("tempdir");
    let ca_pem = write(dir.path(), "ca.pem", &ca.pem);
    let o = run(
        &target.url(),
        &["--cacert", ca_pem.to_str().expect("utf-8")],
    );
    assert_eq!(o.code, Some(0), "{}", o.all());
    assert!(
        o.reports.contains("\"outcome\": \"pass\"") || o.reports.contains("\"outcome\":\"pass\""),
        "{}\n{}",
        o.all(),
        o.reports
    );
}

#[test]
fn cacert_does_not_excuse_a_certificate_for_another_host() {
    let ca = ca("private");
    let wrong = Leaf::new(
        &ca,
        &["scim.example.org"],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let target = TlsTarget::start(&wrong, None);
    let dir = tempfile::tempdir().expect("tempdir");
    let ca_pem = write(dir.path(), "ca.pem", &ca.pem);
    let o = run(
        &target.url(),
        &["--cacert", ca_pem.to_str().expect("utf-8")],
    );
    assert_eq!(o.code, Some(3), "{}", o.all());
    assert!(o.stderr.contains("another host name"), "{}", o.all());
}

#[test]
fn cacert_does_not_excuse_an_expired_certificate() {
    let ca = ca("private");
    let expired = Leaf::with(
        &ca,
        &["localhost", "127.0.0.1"],
        ExtendedKeyUsagePurpose::ServerAuth,
        |p| {
            p.not_before = rcgen::date_time_ymd(2001, 1, 1);
            p.not_after = rcgen::date_time_ymd(2002, 1, 1);
        },
    );
    let target = TlsTarget::start(&expired, None);
    let dir = tempfile::tempdir().expect("tempdir");
    let ca_pem = write(dir.path(), "ca.pem", &ca.pem);
    let o = run(
        &target.url(),
        &["--cacert", ca_pem.to_str().expect("utf-8")],
    );
    assert_eq!(o.code, Some(3), "{}", o.all());
    assert!(o.stderr.contains("validity period"), "{}", o.all());
}

#[test]
fn insecure_accepts_an_untrusted_certificate() {
    let ca = ca("private");
    let target = TlsTarget::start(&Leaf::server(&ca), None);
    let o = run(&target.url(), &["--insecure"]);
    assert_eq!(o.code, Some(0), "{}", o.all());
}

#[test]
fn mutual_tls_needs_the_client_certificate() {
    let server_ca = ca("server");
    let client_ca = ca("client");
    let target = TlsTarget::start(&Leaf::server(&server_ca), Some(&client_ca));
    let dir = tempfile::tempdir().expect("tempdir");
    let ca_pem = write(dir.path(), "ca.pem", &server_ca.pem);
    let ca_arg = ca_pem.to_str().expect("utf-8");

    // Without a client certificate the server refuses the handshake.
    let o = run(&target.url(), &["--cacert", ca_arg]);
    assert_eq!(o.code, Some(3), "{}", o.all());
    assert!(o.stderr.contains("--cert"), "{}", o.all());

    // With one from the CA it trusts, the run goes through.
    let client = Leaf::client(&client_ca);
    let cert = write(dir.path(), "client.pem", &client.pem);
    let key = write(dir.path(), "client.key", &client.key_pem);
    let o = run(
        &target.url(),
        &[
            "--cacert",
            ca_arg,
            "--cert",
            cert.to_str().expect("utf-8"),
            "--key",
            key.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(o.code, Some(0), "{}", o.all());

    // Certificate and key in one file, given to both options.
    let both = write(
        dir.path(),
        "both.pem",
        &format!("{}{}", client.pem, client.key_pem),
    );
    let both = both.to_str().expect("utf-8");
    let o = run(
        &target.url(),
        &["--cacert", ca_arg, "--cert", both, "--key", both],
    );
    assert_eq!(o.code, Some(0), "{}", o.all());

    // A certificate from a CA the server does not trust is refused.
    let stranger = Leaf::client(&ca("stranger"));
    let cert = write(dir.path(), "stranger.pem", &stranger.pem);
    let key = write(dir.path(), "stranger.key", &stranger.key_pem);
    let o = run(
        &target.url(),
        &[
            "--cacert",
            ca_arg,
            "--cert",
            cert.to_str().expect("utf-8"),
            "--key",
            key.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(o.code, Some(3), "{}", o.all());
}

#[test]
fn unusable_pem_files_are_usage_errors_naming_the_file() {
    let ca = ca("private");
    let client = Leaf::client(&ca);
    let other = Leaf::client(&ca);
    let dir = tempfile::tempdir().expect("tempdir");
    let p = |name: &str, text: &str| {
        write(dir.path(), name, text)
            .to_str()
            .expect("utf-8")
            .to_string()
    };
    let missing = dir.path().join("missing.pem");
    let missing = missing.to_str().expect("utf-8").to_string();
    let garbage = p("garbage.pem", "this is not PEM at all\n");
    let truncated = p(
        "truncated.pem",
        &ca.pem[..ca.pem.find("-----END").expect("END")],
    );
    let bad_base64 = p(
        "bad-base64.pem",
        "-----BEGIN CERTIFICATE-----\n!!!!not base64!!!!\n-----END CERTIFICATE-----\n",
    );
    let not_der = p(
        "not-der.pem",
        "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n",
    );
    let binary = dir.path().join("binary.der");
    std::fs::write(&binary, ca.der.as_ref()).expect("write");
    let binary = binary.to_str().expect("utf-8").to_string();
    let cert = p("client.pem", &client.pem);
    let key = p("client.key", &client.key_pem);
    let other_key = p("other.key", &other.key_pem);
    let encrypted = p(
        "enc.key",
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
    );

    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--cacert", &missing], "missing.pem"),
        (vec!["--cacert", &garbage], "garbage.pem"),
        (vec!["--cacert", &truncated], "truncated.pem"),
        (vec!["--cacert", &bad_base64], "bad-base64.pem"),
        (vec!["--cacert", &not_der], "not-der.pem"),
        (vec!["--cacert", &binary], "binary.der"),
        (vec!["--cert", &cert, "--key", &missing], "missing.pem"),
        (vec!["--cert", &garbage, "--key", &key], "garbage.pem"),
        // The certificate given as the key: there is no key in it.
        (vec!["--cert", &cert, "--key", &cert], "client.pem"),
        (vec!["--cert", &cert, "--key", &encrypted], "enc.key"),
        // A key that does not belong to the certificate.
        (vec!["--cert", &cert, "--key", &other_key], "other.key"),
    ];
    // Nothing listens there: the files must be refused before any connection.
    for (args, file) in cases {
        let o = run("https://127.0.0.1:9/scim/v2", &args);
        assert_eq!(o.code, Some(2), "{args:?}\n{}", o.all());
        assert!(o.stderr.contains(file), "{args:?}\n{}", o.all());
        assert!(!o.stderr.contains("cannot reach"), "{args:?}\n{}", o.all());
    }
    // --cert without --key is refused by the argument parser.
    let o = run("https://127.0.0.1:9/scim/v2", &["--cert", &cert]);
    assert_eq!(o.code, Some(2), "{}", o.all());
}

#[test]
fn https_to_a_plain_http_server_says_so() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(32) {
            let Ok(mut s) = stream else { continue };
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buf = [0u8; 4096];
            let _ = std::io::Read::read(&mut s, &mut buf);
            let _ = std::io::Write::write_all(
                &mut s,
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    let o = run(&format!("https://127.0.0.1:{port}/scim/v2"), &[]);
    assert_eq!(o.code, Some(3), "{}", o.all());
    assert!(o.stderr.contains("plain http"), "{}", o.all());
}
