//! JUnit XML: one `<testsuite>` for the audit, one `<testcase>` per check. A failed check is a
//! `<failure>`, a skipped one `<skipped>`, a warning passes with its text in `<system-out>`.
//! This is the subset GitHub, GitLab and Jenkins all read. An audit that could not verify the
//! model adds a failing `verified` testcase, so a CI page never shows it green.

use quick_xml::Writer;
use quick_xml::events::{BytesCData, BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use super::Report;
use super::escape::xml;
use crate::checks::Status;

/// Renders the report as JUnit XML bytes.
pub fn render_junit(report: &Report) -> Vec<u8> {
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
    let write = |writer: &mut Writer<Vec<u8>>, event: Event<'_>| writer.write_event(event).expect("writing to a Vec cannot fail");
    write(&mut writer, Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
    let unverified = report.not_verified.as_ref().filter(|_| report.exit_code != 0);
    let tests = (report.checks.len() + usize::from(unverified.is_some())).to_string();
    let failures = (report.counts.fail + usize::from(unverified.is_some())).to_string();
    let skipped = report.counts.skip.to_string();
    let suite_name = xml(&format!("ready audit {}", report.model.path));
    let mut suites = BytesStart::new("testsuites");
    suites.push_attribute(("name", "ready"));
    suites.push_attribute(("tests", tests.as_str()));
    suites.push_attribute(("failures", failures.as_str()));
    suites.push_attribute(("errors", "0"));
    suites.push_attribute(("skipped", skipped.as_str()));
    write(&mut writer, Event::Start(suites));
    let mut suite = BytesStart::new("testsuite");
    suite.push_attribute(("name", suite_name.as_str()));
    suite.push_attribute(("tests", tests.as_str()));
    suite.push_attribute(("failures", failures.as_str()));
    suite.push_attribute(("errors", "0"));
    suite.push_attribute(("skipped", skipped.as_str()));
    write(&mut writer, Event::Start(suite));

    write(&mut writer, Event::Start(BytesStart::new("properties")));
    let mut properties = vec![
        ("model.sha256", report.model.sha256.clone()),
        ("ready.version", report.ready_version.clone()),
        ("verdict", serde_json::to_value(report.verdict).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()),
    ];
    if let Some(runtime) = &report.runtime {
        properties.push(("onnxruntime.version", runtime.version.clone()));
    }
    properties.push(("machine", report.machine.describe()));
    for (name, value) in &properties {
        let mut property = BytesStart::new("property");
        property.push_attribute(("name", *name));
        property.push_attribute(("value", xml(value).as_str()));
        write(&mut writer, Event::Empty(property));
    }
    write(&mut writer, Event::End(BytesEnd::new("properties")));

    let classname = xml(&format!("ready.{}", report.model.path));
    for check in &report.checks {
        let mut case = BytesStart::new("testcase");
        case.push_attribute(("name", check.id.as_str()));
        case.push_attribute(("classname", classname.as_str()));
        write(&mut writer, Event::Start(case));
        let body = xml(&check.details.join("\n"));
        let summary = xml(&check.short_summary());
        match check.status {
            Status::Fail => {
                let mut failure = BytesStart::new("failure");
                failure.push_attribute(("message", summary.as_str()));
                failure.push_attribute(("type", "ready.check_failed"));
                write(&mut writer, Event::Start(failure));
                write(&mut writer, Event::CData(BytesCData::new(cdata_safe(&body))));
                write(&mut writer, Event::End(BytesEnd::new("failure")));
            }
            Status::Skip => {
                let mut skipped = BytesStart::new("skipped");
                skipped.push_attribute(("message", summary.as_str()));
                write(&mut writer, Event::Empty(skipped));
            }
            Status::Warn | Status::Pass => {
                let prefix = if check.status == Status::Warn { "warning: " } else { "" };
                let text = format!("{prefix}{summary}\n{body}");
                write(&mut writer, Event::Start(BytesStart::new("system-out")));
                write(&mut writer, Event::Text(BytesText::new(text.trim_end())));
                write(&mut writer, Event::End(BytesEnd::new("system-out")));
            }
        }
        write(&mut writer, Event::End(BytesEnd::new("testcase")));
    }
    if let Some(why) = unverified {
        let mut case = BytesStart::new("testcase");
        case.push_attribute(("name", "verified"));
        case.push_attribute(("classname", classname.as_str()));
        write(&mut writer, Event::Start(case));
        let mut failure = BytesStart::new("failure");
        failure.push_attribute(("message", "the model never ran on a valid input"));
        failure.push_attribute(("type", "ready.not_verified"));
        write(&mut writer, Event::Start(failure));
        write(&mut writer, Event::CData(BytesCData::new(cdata_safe(&why.line()))));
        write(&mut writer, Event::End(BytesEnd::new("failure")));
        write(&mut writer, Event::End(BytesEnd::new("testcase")));
    }
    write(&mut writer, Event::End(BytesEnd::new("testsuite")));
    write(&mut writer, Event::End(BytesEnd::new("testsuites")));
    let mut bytes = writer.into_inner();
    bytes.push(b'\n');
    bytes
}

/// CDATA cannot contain `]]>`; split it the standard way.
fn cdata_safe(text: &str) -> String {
    text.replace("]]>", "]]]]><![CDATA[>")
}
