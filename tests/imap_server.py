"""A real Dovecot IMAP server on 127.0.0.1 for tests, plus a TCP proxy that drops connections.

`start(workdir)` writes a self-contained config (its own base_dir, a self-signed certificate
made with `openssl`, a static passdb in which every user name has the same password, Maildir
storage), starts `dovecot -F -c CONF` in the foreground and waits until both listeners accept.
Every user name gets its own Maildir, so one server serves many isolated tests.

Privileges: Dovecot refuses to serve mail as uid 0 and its login processes run as an
unprivileged user. Run as root, it serves mail as `nobody` and logs in as `dovenull`, so its
runtime files live in a world-traversable folder under /tmp (pytest's tmp_path is 0700 root);
run as anyone else, every process runs as that user and the config sits in `workdir`.
"""

from __future__ import annotations

import contextlib
import imaplib
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

PASSWORD = "correct-horse-battery-staple"


def dovecot_binary() -> str | None:
    """Path to the dovecot binary, or None when it is not installed."""
    return shutil.which("dovecot") or next(
        (p for p in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot") if os.access(p, os.X_OK)),
        None)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_certificate(folder: Path, name: str = "server") -> tuple[Path, Path]:
    """A self-signed certificate valid for 127.0.0.1 and localhost: (cert.pem, key.pem)."""
    cert, key = folder / f"{name}-cert.pem", folder / f"{name}-key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True)
    return cert, key


@dataclass
class ImapServer:
    """A running Dovecot; `user` is this test's mailbox owner, `ca_file` trusts its cert."""

    process: subprocess.Popen[bytes]
    runtime: Path
    imaps_port: int
    imap_port: int
    ca_file: Path
    log_file: Path
    user: str = "tester"
    password: str = PASSWORD
    host: str = "127.0.0.1"
    _cleanup: list[Path] = field(default_factory=list)

    def url(self, mailbox: str = "INBOX", *, scheme: str = "imaps", port: int | None = None,
            user: str | None = None) -> str:
        """The `temoin fetch` URL of `mailbox` (imaps on the TLS port unless told otherwise)."""
        if port is None:
            port = self.imaps_port if scheme == "imaps" else self.imap_port
        return f"{scheme}://{user or self.user}@{self.host}:{port}/{mailbox}"

    def client(self, user: str | None = None) -> imaplib.IMAP4_SSL:
        """A logged-in imaplib client (TLS verified against `ca_file`) for setting up tests."""
        ctx = ssl.create_default_context(cafile=str(self.ca_file))
        imap = imaplib.IMAP4_SSL(self.host, self.imaps_port, ssl_context=ctx, timeout=10)
        imap.login(user or self.user, self.password)
        return imap

    def append(self, messages: list[bytes], mailbox: str = "INBOX") -> None:
        """Deliver `messages` into `mailbox` with IMAP APPEND."""
        imap = self.client()
        try:
            for msg in messages:
                typ, data = imap.append(mailbox, None, None, msg)
                assert typ == "OK", data
        finally:
            imap.logout()

    def messages(self, mailbox: str = "INBOX") -> list[bytes]:
        """Every message in `mailbox` (empty if it does not exist), without setting \\Seen."""
        imap = self.client()
        try:
            typ, _ = imap.select(_quote(mailbox), readonly=True)
            if typ != "OK":
                return []
            typ, data = imap.uid("SEARCH", "ALL")
            out = []
            for uid in (data[0] or b"").split():
                typ, got = imap.uid("FETCH", uid.decode(), "(BODY.PEEK[])")
                out.extend(part[1] for part in got if isinstance(part, tuple))
            return out
        finally:
            imap.logout()

    def log(self) -> str:
        """Dovecot's log so far (for assertion messages)."""
        try:
            return self.log_file.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop Dovecot (SIGTERM to the master we started) and remove its runtime folder."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for path in self._cleanup:
            shutil.rmtree(path, ignore_errors=True)


def _quote(mailbox: str) -> str:
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _config(runtime: Path, cert: Path, key: Path, imaps: int, imap: int, mail_uid: int,
            mail_gid: int, login_user: str, internal_user: str, extra: str) -> str:
    return f"""\
# Test-only Dovecot: every path below is private to this instance.
base_dir = {runtime}/run
state_dir = {runtime}/state
instance_name = temoin-test-{imaps}
log_path = {runtime}/dovecot.log
protocols = imap
listen = 127.0.0.1
default_login_user = {login_user}
default_internal_user = {internal_user}
ssl = required
ssl_cert = <{cert}
ssl_key = <{key}
ssl_min_protocol = TLSv1.2
auth_mechanisms = plain login
disable_plaintext_auth = yes
first_valid_uid = 1
first_valid_gid = 1
passdb {{
  driver = static
  args = password={PASSWORD}
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={runtime}/home/%u
}}
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  separator = /
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
{extra}
"""


# Without root, the master cannot give its sockets to the `dovecot` group (the default).
_UNPRIVILEGED = "".join(f"""
service {service} {{
  unix_listener {socket} {{
    group =
  }}
}}""" for service, socket in (("stats", "stats-writer"), ("imap-hibernate", "imap-hibernate"),
                              ("dict", "dict"), ("dict-async", "dict-async"))) + "\n"


def start(workdir: Path, *, extra_config: str = "", timeout: float = 10.0) -> ImapServer:
    """Start a Dovecot for one test under `workdir`; call `.stop()` when done."""
    binary = dovecot_binary()
    if binary is None:
        raise RuntimeError("dovecot is not installed (apt-get install dovecot-imapd)")
    workdir.mkdir(parents=True, exist_ok=True)
    cleanup: list[Path] = []
    if os.geteuid() == 0:
        # Login and mail processes run unprivileged and must reach these folders.
        runtime = Path(tempfile.mkdtemp(prefix="temoin-dovecot-"))
        os.chmod(runtime, 0o755)  # noqa: S103 - dovenull and nobody must traverse it
        cleanup.append(runtime)
        nobody = pwd.getpwnam("nobody")
        mail_uid, mail_gid = nobody.pw_uid, nobody.pw_gid
        login_user = "dovenull" if _user_exists("dovenull") else "nobody"
        internal_user = "dovecot" if _user_exists("dovecot") else "nobody"
    else:
        runtime = workdir / "dovecot"
        runtime.mkdir(exist_ok=True)
        mail_uid, mail_gid = os.getuid(), os.getgid()
        login_user = internal_user = pwd.getpwuid(os.getuid()).pw_name
        extra_config = _UNPRIVILEGED + extra_config
    home = runtime / "home"
    home.mkdir()
    os.chown(home, mail_uid, mail_gid)
    cert, key = make_certificate(workdir)
    imaps, imap = free_port(), free_port()
    conf = workdir / "dovecot.conf"
    conf.write_text(_config(runtime, cert, key, imaps, imap, mail_uid, mail_gid, login_user,
                            internal_user, extra_config))
    # -F: foreground, so the process we hold is the master and SIGTERM stops everything.
    proc = subprocess.Popen([binary, "-F", "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    server = ImapServer(proc, runtime, imaps, imap, cert, runtime / "dovecot.log",
                        _cleanup=cleanup)
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            server.stop()
            raise RuntimeError(f"dovecot exited with {proc.returncode}: {err}\n{server.log()}")
        if _accepts(imaps) and _accepts(imap):
            return server
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"dovecot did not listen within {timeout}s:\n{server.log()}")
        time.sleep(0.05)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class CuttingProxy:
    """A TCP proxy on 127.0.0.1 to `target_port`, the network between client and server.

    With `cut_after`, once it has sent that many bytes from the server to the client it
    drops both sides of the connection: a real connection lost in the middle of a transfer.
    With `strip`, it deletes those bytes from what the server says, as an attacker on the
    path would delete `STARTTLS` from the capabilities. Both are read at each new connection.
    With `source`, the server sees the connection come from that loopback address.
    """

    def __init__(self, target_port: int, cut_after: int | None = None,
                 strip: bytes = b"", source: str = "127.0.0.1") -> None:
        self.target_port = target_port
        self.source = source  # the address the server sees (127.0.0.2: another client)
        self.cut_after = cut_after
        self.strip = strip
        self.cuts = 0
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(4)
        self.port = int(self._sock.getsockname()[1])
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port),
                                                source_address=(self.source, 0))
            threading.Thread(target=self._pipe, args=(client, upstream, None, b""),
                             daemon=True).start()
            threading.Thread(target=self._pipe,
                             args=(upstream, client, self.cut_after, self.strip),
                             daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, limit: int | None,
              strip: bytes) -> None:
        sent = 0
        try:
            while True:
                chunk = src.recv(4096)
                if not chunk:
                    break
                if strip:
                    chunk = chunk.replace(strip, b"")
                if limit is not None and sent + len(chunk) >= limit:
                    dst.sendall(chunk[:limit - sent])
                    self.cuts += 1
                    break
                dst.sendall(chunk)
                sent += len(chunk)
        except OSError:
            pass
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def close(self) -> None:
        """Stop accepting connections."""
        self._closed.set()
        self._sock.close()
