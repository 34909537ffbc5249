#[test]
fn probe() {
    for src in ["a: yes\nb: 5\nc: 0x10\nd: ~\ne: 1.0\nf: on\ng: '5'\n", "x: &r {m: 1, n: 2}\ny: {<<: *r, n: 3}\n", "k: !!str 5\n"] {
        let v: Result<serde_json::Value, _> = serde_saphyr::from_str(src);
        println!("{src:?} => {v:?}");
    }
    let r = scimtest::suite::load::parse_suite(std::path::Path::new("x.yaml"), "id: s\ntitle: t\ntests: []\nzzz: 1\n".into());
    println!("{:?}", r.err().map(|e| (e.message, e.help)));
    let r = scimtest::suite::load::parse_suite(std::path::Path::new("x.yaml"), "id: s\ntitle: t\ntests: [{id: t, title: t, requirements: [], steps: [{request: {method: GET, path: /, auth: zzz}}]}]\n".into());
    println!("{:?}", r.err().map(|e| (e.message, e.help)));
}
