from ansible_collections.launchbay.webstack.plugins.filter.backup_report import FilterModule, backup_report


def test_registered():
    assert FilterModule().filters()["backup_report"] is backup_report


def test_exec_result_stdout():
    assert backup_report({"rc": 0, "stdout": '{"backups": {"shop": {"id": "x"}}}'}) == {"backups": {"shop": {"id": "x"}}}


def test_container_output_last_json_line_after_log_lines():
    out = 'LOG:  database system is ready\n{"progress": 1}\nWARNING: something\n{"rto_seconds": 1.9, "databases": {}}\n'
    assert backup_report({"container": {"Output": out}, "stdout": ""}) == {"rto_seconds": 1.9, "databases": {}}


def test_error_report():
    assert backup_report({"rc": 1, "stdout": 'Traceback...\n{"error": "checksum mismatch"}'})["error"] == "checksum mismatch"


def test_no_report_is_empty():
    assert backup_report({"rc": 1, "stdout": "", "stderr": "boom"}) == {}
    assert backup_report({"msg": "module failure"}) == {}
    assert backup_report("{not json\n[1, 2]") == {}
    assert backup_report(None) == {}


def test_plain_text():
    assert backup_report('noise\n{"a": 1}') == {"a": 1}
