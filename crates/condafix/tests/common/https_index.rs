//! A real local HTTPS server for the TLS tests: a CA made with rcgen, a server certificate it
//! signs for 127.0.0.1, rustls, and a tiny PEP 503 index serving one wheel.
#![cfg(unix)]
#![allow(dead_code)]

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType,
};

pub struct HttpsIndex {
    pub url: String,
    pub ca_pem: String,
    stop: Arc<AtomicBool>,
    port: u16,
}

/// A minimal valid wheel: `fixturepkg-1.0-py3-none-any.whl`.
pub fn wheel() -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let o = SimpleFileOptions::default();
    let files: [(&str, &str); 4] = [
        ("fixturepkg/__init__.py", "VALUE = 1\n"),
        ("fixturepkg-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: fixturepkg\nVersion: 1.0\n"),
        ("fixturepkg-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: condafix-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
        ("fixturepkg-1.0.dist-info/RECORD", ""),
    ];
    for (name, body) in files {
        z.start_file(name, o).unwrap();
        z.write_all(body.as_bytes()).unwrap();
    }
    z.finish().unwrap().into_inner()
}

impl HttpsIndex {
    pub fn start() -> Self {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "condafix test corporate root");
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_key = KeyPair::generate().unwrap();
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params
            .subject_alt_names
            .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
        params
            .distinguished_name
            .push(DnType::CommonName, "127.0.0.1");
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &issuer).unwrap();

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone(), ca_cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .unwrap();
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(false).unwrap();
        let port = listener.local_addr().unwrap().port();
        let wheel = Arc::new(wheel());
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        std::thread::spawn(move || {
            // Bounded: a test makes a handful of requests.
            for stream in listener.incoming().take(200) {
                if stop2.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(tcp) = stream else { continue };
                let _ = tcp.set_read_timeout(Some(std::time::Duration::from_secs(10)));
                let config = config.clone();
                let wheel = wheel.clone();
                std::thread::spawn(move || {
                    let Ok(conn) = rustls::ServerConnection::new(config) else {
                        return;
                    };
                    let mut tls = rustls::StreamOwned::new(conn, tcp);
                    let mut reader = BufReader::new(&mut tls);
                    let mut request = String::new();
                    if reader.read_line(&mut request).is_err() {
                        return; // the client refused our certificate
                    }
                    loop {
                        let mut h = String::new();
                        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                            break;
                        }
                    }
                    let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
                    let (status, ctype, body): (&str, &str, Vec<u8>) = match path.as_str() {
                        "/simple/" => (
                            "200 OK",
                            "text/html",
                            b"<html><body><a href=\"fixturepkg/\">fixturepkg</a></body></html>"
                                .to_vec(),
                        ),
                        "/simple/fixturepkg/" => {
                            let sha = condafix_prefix::Sha256::of_bytes(&wheel);
                            (
                                "200 OK",
                                "text/html",
                                format!("<html><body><a href=\"/files/fixturepkg-1.0-py3-none-any.whl#sha256={sha}\">fixturepkg-1.0-py3-none-any.whl</a></body></html>").into_bytes(),
                            )
                        }
                        "/files/fixturepkg-1.0-py3-none-any.whl" => {
                            ("200 OK", "application/octet-stream", wheel.to_vec())
                        }
                        _ => ("404 Not Found", "text/plain", b"not found".to_vec()),
                    };
                    let head = format!("HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
                    let _ = tls.write_all(head.as_bytes());
                    let _ = tls.write_all(&body);
                    let _ = tls.flush();
                    tls.conn.send_close_notify();
                    let _ = tls.flush();
                });
            }
        });
        Self {
            url: format!("https://127.0.0.1:{port}/simple/"),
            ca_pem: ca_cert.pem(),
            stop,
            port,
        }
    }

    pub fn write_ca(&self, path: &Path) {
        fs_err::write(path, &self.ca_pem).unwrap();
    }
}

impl Drop for HttpsIndex {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so it sees the flag.
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
    }
}
