import struct

from ansible_collections.launchbay.webstack.plugins.module_utils._docker_api import DockerClient, DockerError, demux_logs


def frame(stream, text):
    data = text.encode()
    return bytes([stream, 0, 0, 0]) + struct.pack(">I", len(data)) + data


def test_demux_joins_stdout_and_stderr_frames():
    assert demux_logs(frame(1, "out\n") + frame(2, "err\n")) == "out\nerr\n"


def test_demux_passes_tty_output_through():
    assert demux_logs(b"plain text from a tty\n") == "plain text from a tty\n"


def test_a_missing_socket_names_the_call_and_the_socket(tmp_path):
    client = DockerClient(str(tmp_path / "no.sock"), timeout=1)
    try:
        client.containers({"launchbay.app": "shop"})
    except DockerError as exc:
        assert "GET /containers/json" in str(exc) and "no.sock" in str(exc)
    else:
        raise AssertionError("expected a DockerError")
