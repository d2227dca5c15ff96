# condafix's probe, run as `python -I -S -B -c <this> [URL]` (or, for an install whose
# interpreter is in its root on Windows, `python -s -S -B -c <this>` with PYTHONHOME set to it:
# see verify.rs). Prints one JSON object on stdout.
# It must run on every Python 3 conda ships, and never raise: every failure is data.
# -S: `site` does not run, so no .pth file executes; site-packages is put on sys.path here,
# without processing its .pth files, for certifi and pip.
import sys

# Not the current folder (`-c` puts it first unless -I): nothing planted there may load.
sys.path[:] = [_p for _p in sys.path if _p not in ("", ".")]

import json
import os

try:
    import sysconfig

    # What site.venv() does for a venv (sys.prefix is the venv), without .pth files.
    _exe_dir = os.path.dirname(os.path.abspath(sys.executable))
    _bases = []
    # With PYTHONHOME set (an install's own home), CPython looks for no pyvenv.cfg: nor here.
    _venv_dirs = () if os.environ.get("PYTHONHOME") else (_exe_dir, os.path.dirname(_exe_dir))
    for _d in _venv_dirs:
        _cfg = os.path.join(_d, "pyvenv.cfg")
        if os.path.isfile(_cfg):
            _system = False
            with open(_cfg, encoding="utf-8", errors="replace") as _f:
                for _line in _f:
                    _k, _, _v = _line.partition("=")
                    if _k.strip().lower() == "include-system-site-packages":
                        _system = _v.strip().lower() == "true"
            sys.prefix = sys.exec_prefix = _d
            _bases.append(_d)
            if _system:
                _bases.append(sys.base_prefix)
            break
    if not _bases:
        _bases.append(sys.prefix)
    for _base in _bases:
        _paths = sysconfig.get_paths(vars={"base": _base, "platbase": _base})
        for _key in ("purelib", "platlib"):
            _dir = _paths.get(_key)
            if _dir and _dir not in sys.path and os.path.isdir(_dir):
                sys.path.append(_dir)
except BaseException:
    pass

out = {
    "python": sys.version.split()[0],
    "executable": sys.executable,
    "prefix": sys.prefix,
}

try:
    import ssl

    import _ssl

    paths = ssl.get_default_verify_paths()
    out["ssl"] = {
        "ok": True,
        "openssl_version": ssl.OPENSSL_VERSION,
        "file": getattr(_ssl, "__file__", None),
        "default_verify_paths": {
            "cafile": paths.cafile,
            "capath": paths.capath,
            "openssl_cafile_env": paths.openssl_cafile_env,
            "openssl_cafile": paths.openssl_cafile,
        },
    }
except BaseException as e:  # noqa: B902 - an ImportError is the expected failure
    out["ssl"] = {"ok": False, "error_type": type(e).__name__, "error": str(e)}

try:
    import certifi

    where = certifi.where()
    out["certifi"] = {"path": where, "exists": os.path.exists(where)}
except BaseException as e:
    out["certifi"] = {"error": "%s: %s" % (type(e).__name__, e)}

pip_info = {}
try:
    import pip

    pip_info["version"] = pip.__version__
    parts = tuple(int(p) for p in pip.__version__.split(".")[:2] if p.isdigit())
    pip_info["truststore_default"] = parts >= (24, 2) and sys.version_info >= (3, 10)
    try:
        from pip._internal.configuration import Configuration

        conf = Configuration(isolated=False)
        conf.load()
        pip_info["config"] = {k: v for k, v in conf.items()}
    except BaseException as e:
        pip_info["config_error"] = "%s: %s" % (type(e).__name__, e)
except BaseException as e:
    pip_info["error"] = "%s: %s" % (type(e).__name__, e)
out["pip"] = pip_info


def online(url):
    """GET `url` through pip's own network stack: pip's session, pip's configured cert and
    proxy, truststore where pip would use it, no trusted-host shortcut."""
    result = {"url": url}
    try:
        from pip._internal.network.session import PipSession
    except BaseException as e:
        result.update(ok=False, error_class="pip-unavailable", error="%s: %s" % (type(e).__name__, e))
        return result
    config = pip_info.get("config", {})
    cert = os.environ.get("PIP_CERT") or config.get("global.cert") or config.get("download.cert")
    proxy = os.environ.get("PIP_PROXY") or config.get("global.proxy")
    kwargs = {"retries": 0, "trusted_hosts": []}
    mechanism = "certifi"
    if pip_info.get("truststore_default") and not cert:
        try:
            import ssl

            from pip._vendor import truststore

            ctx = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            kwargs["ssl_context"] = ctx
            mechanism = "truststore"
        except BaseException:
            pass
    try:
        session = PipSession(**kwargs)
        if cert:
            session.verify = cert
            mechanism = "cert=" + cert
        if proxy:
            session.proxies = {"http": proxy, "https": proxy}
        result["mechanism"] = mechanism
        response = session.get(url, timeout=float(os.environ.get("CONDAFIX_PROBE_TIMEOUT", "10")))
        result["status"] = response.status_code
        result["ok"] = 200 <= response.status_code < 400
        if not result["ok"]:
            result["error_class"] = "http-status"
    except BaseException as e:
        text = "%s: %s" % (type(e).__name__, e)
        low = text.lower()
        if "certificate_verify_failed" in low or "certificate verify failed" in low:
            cls = "certificate-verify-failed"
        elif "proxy" in low:
            cls = "proxy"
        elif "timed out" in low or "timeout" in low:
            cls = "timeout"
        elif "name or service not known" in low or "getaddrinfo" in low or "nodename nor servname" in low or "name resolution" in low:
            cls = "dns"
        elif "ssl module" in low or "no module named '_ssl'" in low:
            cls = "ssl-unavailable"
        elif "connection refused" in low or "actively refused" in low:
            cls = "connection-refused"
        else:
            cls = "other"
        result.update(ok=False, error_class=cls, error=text)
    return result


if len(sys.argv) > 1 and sys.argv[1]:
    out["online"] = online(sys.argv[1])

sys.stdout.write(json.dumps(out))
sys.stdout.flush()
