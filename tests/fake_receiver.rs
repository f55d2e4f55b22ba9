//! A webhook receiver on loopback that keeps every request it gets: Slack's incoming
//! webhooks, Teams' workflows and plain webhooks all take a JSON POST and answer with a
//! status, so one fake stands for all three. Its answers can be scripted (a 500 first, a
//! 429 with `Retry-After`), after which it answers 200.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use serde_json::Value;

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The status it was answered with.
    pub status: u16,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "the body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

#[derive(Default)]
struct State {
    received: Vec<Received>,
    /// Answers for the next requests, in order; then `otherwise`.
    script: VecDeque<(u16, Vec<(String, String)>)>,
    otherwise: Option<u16>,
}

pub struct Receiver {
    state: Arc<Mutex<State>>,
    server: Arc<tiny_http::Server>,
    shutdown: Arc<AtomicBool>,
    worker: Option<JoinHandle<()>>,
    port: u16,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

impl Receiver {
    pub fn start() -> Receiver {
        let server = tiny_http::Server::http("127.0.0.1:0").expect("bind a loopback port");
        let port = server.server_addr().to_ip().expect("TCP").port();
        let server = Arc::new(server);
        let state = Arc::new(Mutex::new(State::default()));
        let shutdown = Arc::new(AtomicBool::new(false));
        let worker = {
            let (server, state, shutdown) = (server.clone(), state.clone(), shutdown.clone());
            std::thread::spawn(move || loop {
                match server.recv() {
                    Ok(request) => handle(request, &state),
                    Err(_) if shutdown.load(Ordering::SeqCst) => return,
                    Err(_) => continue,
                }
            })
        };
        Receiver {
            state,
            server,
            shutdown,
            worker: Some(worker),
            port,
        }
    }

    /// The URL of `path` on this receiver (`/hook/...`).
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The next request gets `status` with `headers`.
    pub fn answer_next(&self, status: u16, headers: &[(&str, &str)]) {
        let headers = headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        lock(&self.state).script.push_back((status, headers));
    }

    /// Every request past the script gets `status`.
    pub fn always_answer(&self, status: u16) {
        lock(&self.state).otherwise = Some(status);
    }

    pub fn received(&self) -> Vec<Received> {
        lock(&self.state).received.clone()
    }

    /// The requests answered with a success, to `path`.
    pub fn delivered(&self, path: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.path == path && (200..300).contains(&r.status))
            .collect()
    }
}

fn handle(mut request: tiny_http::Request, state: &Mutex<State>) {
    let mut body = Vec::new();
    let _ = request.as_reader().read_to_end(&mut body);
    crate::capture::bytes("notification", &body);
    let headers = request
        .headers()
        .iter()
        .map(|h| (h.field.to_string(), h.value.to_string()))
        .collect();
    let (status, reply_headers) = {
        let mut state = lock(state);
        let (status, reply_headers) = state
            .script
            .pop_front()
            .unwrap_or_else(|| (state.otherwise.unwrap_or(200), Vec::new()));
        state.received.push(Received {
            method: request.method().as_str().to_owned(),
            path: request.url().to_owned(),
            headers,
            body,
            status,
        });
        (status, reply_headers)
    };
    let mut response = tiny_http::Response::from_string("ok").with_status_code(status);
    for (name, value) in reply_headers {
        if let Ok(header) = tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()) {
            response.add_header(header);
        }
    }
    let _ = request.respond(response);
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.shutdown.store(true, Ordering::SeqCst);
        self.server.unblock();
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}
