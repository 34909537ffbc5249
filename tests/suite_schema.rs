#[test]
fn probe() {
    use scimtest::exec::template::{RunContext, Templates};
    let t = Templates::new(RunContext {
        prefix: "scimtest-r1".into(),
        domain: "example.com".into(),
        run_id: "r1".into(),
        base_url: "http://x/scim/v2".into(),
    });
    let scope = serde_json::Map::new();
    for s in [
        "{{ nosuch }}",
        "x{{ nosuch }}",
        "{{ nosuch.a }}",
        " {{ 1 + 2 }} ",
        "{{ [1, 'a'] }}",
        "{{ {'a': 1} }}",
        "{{ none }}",
        "{{ now() }}",
        "{{ now(-60) }}",
        "{{ unique() }}",
        "{{ unique('grp') }}",
        "{{ user_name() }}",
        "{{ uuid() }}",
        "{{ random_string() }}",
        "{{ random_string(5) }}",
        "{{ random_string(length=3, class='emoji') }}",
        "{{ base_url }}|{{ run_id }}|{{ prefix }}|{{ domain }}",
        "{{ 'a b' | urlencode }}",
        "{{ 'Ab' | upper }}",
        "{% if true %}yes{% endif %}",
        "{{ 3.5 }}",
        "{{ true }}",
        "{{ '5' | int }}",
        "{{ {'a': 1} | tojson }}",
    ] {
        println!("{s:?} => {:?}", t.render_str(s, &scope));
    }
}
