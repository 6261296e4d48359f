//! The phone camera in the browser: `getUserMedia` (rear camera first), a picker over the device's
//! cameras, the torch where the device has one, and a throttled decode loop over the video frames
//! (at most one frame every `FRAME_INTERVAL_MS`, scaled to 640 pixels wide, so the video never
//! stutters), and the sound and vibration of each answer.
use super::{decode, Outcome};
use js_sys::{Array, Function, Object, Reflect};
use std::{cell::RefCell, rc::Rc};
use wasm_bindgen::{prelude::*, JsCast};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AudioContext, CanvasRenderingContext2d, HtmlCanvasElement, HtmlVideoElement, MediaDeviceInfo,
    MediaDeviceKind, MediaStream, MediaStreamConstraints, MediaStreamTrack,
};

/// The pause between two decoded frames.
pub const FRAME_INTERVAL_MS: i32 = 120;
/// Frames are scaled down to this width before decoding.
pub const FRAME_WIDTH: u32 = 640;

struct Running {
    stream: MediaStream,
    timer: i32,
    _tick: Closure<dyn FnMut()>,
}

thread_local! {
    static RUNNING: RefCell<Option<Running>> = const { RefCell::new(None) };
    static AUDIO: RefCell<Option<AudioContext>> = const { RefCell::new(None) };
}

/// What the decode loop reports to the page.
pub struct Hooks {
    pub on_text: Rc<dyn Fn(String)>,
    pub on_decode_ms: Rc<dyn Fn(f64)>,
}

fn set(obj: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(obj, &JsValue::from_str(key), value);
}

fn call(target: &JsValue, method: &str, args: &Array) -> Option<JsValue> {
    let f: Function = Reflect::get(target, &method.into()).ok()?.dyn_into().ok()?;
    f.apply(target, args).ok()
}

fn constraints(device_id: Option<&str>) -> MediaStreamConstraints {
    let video = Object::new();
    match device_id {
        Some(id) => {
            let exact = Object::new();
            set(&exact, "exact", &id.into());
            set(&video, "deviceId", &exact);
        }
        None => {
            let ideal = Object::new();
            set(&ideal, "ideal", &"environment".into());
            set(&video, "facingMode", &ideal);
        }
    }
    let width = Object::new();
    set(&width, "ideal", &1280.into());
    set(&video, "width", &width);
    let c = MediaStreamConstraints::new();
    c.set_video(&video);
    c.set_audio(&JsValue::FALSE);
    c
}

fn video_track() -> Option<MediaStreamTrack> {
    RUNNING.with(|r| {
        let r = r.borrow();
        let tracks = r.as_ref()?.stream.get_video_tracks();
        tracks.get(0).dyn_into().ok()
    })
}

/// Opens a camera (`device_id`, or the rear one) into `video` and starts decoding its frames.
/// The error is a translation key saying what went wrong.
pub async fn start(
    video: HtmlVideoElement,
    canvas: HtmlCanvasElement,
    device_id: Option<String>,
    hooks: Hooks,
) -> Result<(), &'static str> {
    stop();
    let window = web_sys::window().ok_or("scan.camera.unsupported")?;
    let devices = window
        .navigator()
        .media_devices()
        .map_err(|_| "scan.camera.unsupported")?;
    let promise = devices
        .get_user_media_with_constraints(&constraints(device_id.as_deref()))
        .map_err(|_| "scan.camera.unsupported")?;
    let stream: MediaStream = JsFuture::from(promise)
        .await
        .map_err(|e| {
            let name = Reflect::get(&e, &"name".into())
                .ok()
                .and_then(|n| n.as_string())
                .unwrap_or_default();
            if name == "NotAllowedError" {
                "scan.camera.denied"
            } else {
                "scan.camera.unavailable"
            }
        })?
        .unchecked_into();
    video.set_muted(true);
    let _ = video.set_attribute("playsinline", "");
    video.set_src_object(Some(&stream));
    if let Ok(p) = video.play() {
        let _ = JsFuture::from(p).await;
    }
    let options = Object::new();
    set(&options, "willReadFrequently", &JsValue::TRUE);
    let ctx: CanvasRenderingContext2d = canvas
        .get_context_with_context_options("2d", &options)
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into().ok())
        .ok_or("scan.camera.unsupported")?;
    let performance = window.performance().ok_or("scan.camera.unsupported")?;
    let mut last_end = 0.0;
    let tick = Closure::<dyn FnMut()>::new(move || {
        let started = performance.now();
        // A slow frame never queues the next one right behind it: the page keeps breathing.
        if started - last_end < FRAME_INTERVAL_MS as f64 / 2.0 || video.ready_state() < 2 {
            return;
        }
        let (vw, vh) = (video.video_width(), video.video_height());
        if vw == 0 || vh == 0 {
            return;
        }
        let scale = (FRAME_WIDTH as f64 / vw as f64).min(1.0);
        let (w, h) = (
            (vw as f64 * scale).round() as u32,
            (vh as f64 * scale).round() as u32,
        );
        if canvas.width() != w || canvas.height() != h {
            canvas.set_width(w);
            canvas.set_height(h);
        }
        if ctx
            .draw_image_with_html_video_element_and_dw_and_dh(&video, 0.0, 0.0, w as f64, h as f64)
            .is_err()
        {
            return;
        }
        let Ok(frame) = ctx.get_image_data(0.0, 0.0, w as f64, h as f64) else {
            return;
        };
        let t0 = performance.now();
        let luma = decode::luma_from_rgba(&frame.data());
        let text = decode::decode_luma(&luma, w as usize, h as usize);
        last_end = performance.now();
        (hooks.on_decode_ms)(last_end - t0);
        if let Some(text) = text {
            (hooks.on_text)(text);
        }
    });
    let timer = window
        .set_interval_with_callback_and_timeout_and_arguments_0(
            tick.as_ref().unchecked_ref(),
            FRAME_INTERVAL_MS,
        )
        .unwrap_or(-1);
    RUNNING.with(|r| {
        *r.borrow_mut() = Some(Running {
            stream,
            timer,
            _tick: tick,
        })
    });
    Ok(())
}

/// Stops the decode loop and releases the camera.
pub fn stop() {
    if let Some(running) = RUNNING.with(|r| r.borrow_mut().take()) {
        if let Some(w) = web_sys::window() {
            w.clear_interval_with_handle(running.timer);
        }
        for track in running.stream.get_tracks().iter() {
            if let Ok(track) = track.dyn_into::<MediaStreamTrack>() {
                track.stop();
            }
        }
    }
}

/// The device's cameras: (device id, label). Labels are known once the camera was allowed.
pub async fn cameras() -> Vec<(String, String)> {
    let Some(devices) = web_sys::window().and_then(|w| w.navigator().media_devices().ok()) else {
        return vec![];
    };
    let Ok(promise) = devices.enumerate_devices() else {
        return vec![];
    };
    let Ok(list) = JsFuture::from(promise).await else {
        return vec![];
    };
    Array::from(&list)
        .iter()
        .filter_map(|d| d.dyn_into::<MediaDeviceInfo>().ok())
        .filter(|d| d.kind() == MediaDeviceKind::Videoinput)
        .map(|d| (d.device_id(), d.label()))
        .collect()
}

/// Whether the running camera has a torch.
pub fn has_torch() -> bool {
    video_track()
        .and_then(|t| call(&t, "getCapabilities", &Array::new()))
        .and_then(|caps| Reflect::get(&caps, &"torch".into()).ok())
        .is_some_and(|v| v.is_truthy())
}

/// Lights or puts out the torch.
pub fn set_torch(on: bool) {
    if let Some(track) = video_track() {
        let setting = Object::new();
        set(&setting, "torch", &JsValue::from_bool(on));
        let constraints = Object::new();
        set(&constraints, "advanced", &Array::of1(&setting));
        let _ = call(&track, "applyConstraints", &Array::of1(&constraints));
    }
}

/// Lets the page make sounds (browsers allow audio only after a tap on the page).
pub fn unlock_audio() {
    AUDIO.with(|a| {
        let mut a = a.borrow_mut();
        if a.is_none() {
            *a = AudioContext::new().ok();
        }
        if let Some(ctx) = a.as_ref() {
            let _ = ctx.resume();
        }
    });
}

/// Each answer's own sound and vibration: one high beep for OK, low ones for a refusal.
pub fn signal(outcome: Outcome) {
    let (tones, buzz): (&[f32], &[u32]) = match outcome {
        Outcome::Ok => (&[880.0], &[80]),
        Outcome::AlreadyUsed => (&[330.0, 220.0, 330.0, 220.0], &[300, 100, 300, 100, 300]),
        Outcome::Canceled | Outcome::Refunded => (&[260.0, 200.0], &[400, 150, 400]),
        Outcome::NotValidToday | Outcome::NotOnList => (&[440.0, 330.0], &[200, 100, 200]),
        Outcome::Exit => (&[660.0], &[60]),
        Outcome::Unknown => (&[200.0, 200.0, 200.0], &[150, 80, 150, 80, 150]),
    };
    unlock_audio();
    AUDIO.with(|a| {
        if let Some(ctx) = a.borrow().as_ref() {
            for (i, hz) in tones.iter().enumerate() {
                let (Ok(osc), Ok(gain)) = (ctx.create_oscillator(), ctx.create_gain()) else {
                    return;
                };
                osc.frequency().set_value(*hz);
                gain.gain().set_value(0.2);
                let _ = osc.connect_with_audio_node(&gain);
                let _ = gain.connect_with_audio_node(&ctx.destination());
                let at = ctx.current_time() + i as f64 * 0.16;
                let _ = osc.start_with_when(at);
                let _ = osc.stop_with_when(at + 0.13);
            }
        }
    });
    if let Some(w) = web_sys::window() {
        let pattern: Array = buzz.iter().map(|ms| JsValue::from(*ms)).collect();
        let _ = w.navigator().vibrate_with_pattern(&pattern);
    }
}
