//! The HTTP side: one thread reads requests, answers them from the shared state and logs them.

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tiny_http::{Header, Request, Response, Server};

use crate::api;
use crate::faults::ApiError;
use crate::requests::{Params, RecordedRequest};
use crate::state::State;
use crate::xml;

/// Request bodies above this are refused: the API's largest real requests are far smaller.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub(crate) fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // A panic elsewhere while holding the lock leaves state a test can still read.
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Serves until `stop` is set and the server unblocked.
pub(crate) fn serve(server: &Server, state: &Mutex<State>, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        match server.recv() {
            Ok(request) => answer(request, state),
            // Unblocked (stop is set) or a failed accept: look at stop again, without spinning.
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

fn answer(mut request: Request, state: &Mutex<State>) {
    let method = request.method().as_str().to_owned();
    let url = request.url().to_owned();
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|h| {
            (
                h.field.as_str().as_str().to_owned(),
                h.value.as_str().to_owned(),
            )
        })
        .collect();
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    let mut params: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let body = read_body(&mut request);

    let mut state = lock(state);
    state.request_count += 1;
    let request_id = crate::ids::uuid_like(&format!("request/{}", state.request_count));
    let result = body.and_then(|body| {
        params.extend(form_urlencoded::parse(&body).into_owned());
        api::handle(&mut state, &Params(&params), &request_id)
    });
    let (status, error_code, body) = match result {
        Ok(body) => (200, None, body),
        Err(error) => {
            let body = xml::error_response(error.code, &error.message, &request_id);
            (error.status, Some(error.code.to_owned()), body)
        }
    };
    state.requests.push(RecordedRequest {
        method,
        path: path.to_owned(),
        action: params
            .iter()
            .find(|(k, _)| k == "Action")
            .map(|(_, v)| v.clone()),
        params,
        headers,
        status,
        error_code,
    });
    drop(state);

    let mut response = Response::from_string(body).with_status_code(status);
    for (name, value) in [
        ("Content-Type", "text/xml"),
        ("x-amzn-RequestId", request_id.as_str()),
    ] {
        if let Ok(header) = Header::from_bytes(name.as_bytes(), value.as_bytes()) {
            response.add_header(header);
        }
    }
    // A client that hung up gets no answer; nothing to do about it.
    let _ = request.respond(response);
}

/// The body, refused (HTTP 413) above [`MAX_BODY_BYTES`].
fn read_body(request: &mut Request) -> Result<Vec<u8>, ApiError> {
    let too_large = || {
        ApiError::new(
            413,
            "RequestEntityTooLarge",
            format!("Request bodies are limited to {MAX_BODY_BYTES} bytes"),
        )
    };
    if request
        .body_length()
        .is_some_and(|len| len > MAX_BODY_BYTES)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    let limit = u64::try_from(MAX_BODY_BYTES).unwrap_or(u64::MAX) + 1;
    request
        .as_reader()
        .take(limit)
        .read_to_end(&mut body)
        .map_err(|e| ApiError::validation(format!("Could not read the request body: {e}")))?;
    if body.len() > MAX_BODY_BYTES {
        return Err(too_large());
    }
    Ok(body)
}

/// Keeps the serving thread for a handle; stops it on drop.
pub(crate) struct Running {
    pub server: Arc<Server>,
    pub stop: Arc<AtomicBool>,
    pub thread: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    pub(crate) fn start(state: Arc<Mutex<State>>, address: &str) -> std::io::Result<Self> {
        let server = Server::http(address).map_err(std::io::Error::other)?;
        let server = Arc::new(server);
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::Builder::new()
            .name("fake-cloudformation".to_owned())
            .spawn({
                let (server, stop) = (Arc::clone(&server), Arc::clone(&stop));
                move || serve(&server, &state, &stop)
            })?;
        Ok(Self {
            server,
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
