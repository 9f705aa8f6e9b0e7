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


def test_missing_objects_are_none_where_asked_and_errors_elsewhere(tmp_path):
    import http.server
    import socketserver
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self):
            body = b'{"message": "No such container: x"}'
            self.send_response(404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_DELETE = _answer

        def address_string(self):
            return "unix"

        def log_message(self, *args):
            pass

    class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
        daemon_threads = True

    path = str(tmp_path / "docker.sock")
    server = Server(path, Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = DockerClient(path, timeout=5)
        assert client.inspect("x") is None and client.image("a/b:c") is None
        client.remove("x")  # already gone: nothing to do
        try:
            client.start("x")
        except DockerError as exc:
            assert exc.status == 404 and "No such container: x" in str(exc)
        else:
            raise AssertionError("start of a missing container must raise")
    finally:
        server.shutdown()
        server.server_close()


def test_docker_host_takes_a_unix_url_and_refuses_others():
    from ansible_collections.launchbay.webstack.plugins.module_utils._docker_api import socket_path

    assert socket_path("unix:///run/user/1000/docker.sock") == "/run/user/1000/docker.sock"
    for bad in ("tcp://10.0.0.1:2375", "unix://", "/var/run/docker.sock"):
        try:
            socket_path(bad)
        except DockerError as exc:
            assert "docker_host must be unix://" in str(exc) and repr(bad) in str(exc)
        else:
            raise AssertionError("accepted %r" % bad)
