"""The README's first command: the demo (scripts/demo.sh, what "make demo"
runs after installing and building) provisions a simulated phone with an
expired factory certificate end to end.  Run here on ports and in a
directory of its own, and stopped again."""
import os
import subprocess

from conftest import BUILD, PATCHED_SSL, ROOT, free_port


def test_demo_runs_end_to_end(workdir):
    build, mod_ssl = BUILD, PATCHED_SSL
    if os.environ.get("DEVPROV_APACHE2"):
        # the suite runs apache2 through a sanitizer or valgrind wrapper,
        # whose builds only load under it; the demo starts apache2 itself,
        # so it runs with the normal build (make test builds it first)
        build = ROOT / "build"
        mod_ssl = build / "mod_ssl.so"
    env = dict(os.environ, DEMO_DIR=str(workdir / "demo"), DEMO_STOP="1",
               DEMO_HTTPS_PORT=str(free_port()),
               DEMO_HTTP_PORT=str(free_port()),
               # the suite's builds: the demo runs in stock mode too
               # (DEVPROV_MOD_SSL=Debian's mod_ssl, make check-stock)
               BUILD=str(build), DEMO_MOD_SSL=str(mod_ssl))
    p = subprocess.run(["sh", str(ROOT / "scripts/demo.sh")], env=env,
                       capture_output=True, text=True, timeout=300)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out[-3000:]
    assert "All demo steps behaved as expected." in out, out[-3000:]
    # the expired phone got its own rendered configuration
    assert "device configuration for 0004f2000002; cert validity: expired" \
        in out, out[-3000:]
