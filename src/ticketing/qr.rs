//! QR codes of tickets: SVG for pages, PNG for mails (inline attachments survive clients that block
//! remote images). The PNG encoder is a few lines over zlib: no image library needed.
use qrcode::{render::svg, EcLevel, QrCode};
use std::io::Write;

fn code(text: &str) -> QrCode {
    QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .expect("a ticket token fits in a QR code")
}

pub fn svg(text: &str) -> String {
    code(text)
        .render::<svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build()
}

/// A black-and-white PNG, `scale` pixels per module, with the 4-module quiet zone.
pub fn png(text: &str, scale: usize) -> Vec<u8> {
    let code = code(text);
    let n = code.width();
    let colors = code.to_colors();
    let size = (n + 8) * scale;
    let mut raw = Vec::with_capacity((size + 1) * size);
    for y in 0..size {
        raw.push(0u8); // filter: none
        for x in 0..size {
            let (mx, my) = ((x / scale) as isize - 4, (y / scale) as isize - 4);
            let dark = mx >= 0
                && my >= 0
                && (mx as usize) < n
                && (my as usize) < n
                && colors[my as usize * n + mx as usize] == qrcode::Color::Dark;
            raw.push(if dark { 0 } else { 255 });
        }
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&raw).expect("in-memory write");
    let idat = z.finish().expect("in-memory zlib");
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&(size as u32).to_be_bytes());
    ihdr.extend_from_slice(&(size as u32).to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]); // 8-bit greyscale
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [(b"IHDR", &ihdr), (b"IDAT", &idat), (b"IEND", &Vec::new())] {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc = crc32fast::Hasher::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc.finalize().to_be_bytes());
    }
    out
}

/// A short video (YUV4MPEG2, 640×480, 10 frames a second) of the QR code held in front of a
/// camera, drifting a little from frame to frame: what the door tests feed Chromium's fake camera.
pub fn y4m_video(text: &str, frames: usize) -> Vec<u8> {
    let (w, h) = (640usize, 480usize);
    let code = code(text);
    let n = code.width();
    let colors = code.to_colors();
    let scale = (h * 3 / 4) / (n + 8);
    let size = (n + 8) * scale;
    let mut out = format!("YUV4MPEG2 W{w} H{h} F10:1 Ip A1:1 C420jpeg\n").into_bytes();
    for f in 0..frames {
        let (ox, oy) = ((w - size) / 2 + f % 7, (h - size) / 2 + (f * 3) % 5);
        out.extend_from_slice(b"FRAME\n");
        for y in 0..h {
            for x in 0..w {
                let inside = x >= ox && y >= oy && x < ox + size && y < oy + size;
                let luma = if !inside {
                    90 // a grey background: the ticket is a white card
                } else {
                    let (mx, my) = (
                        ((x - ox) / scale) as isize - 4,
                        ((y - oy) / scale) as isize - 4,
                    );
                    let dark = mx >= 0
                        && my >= 0
                        && (mx as usize) < n
                        && (my as usize) < n
                        && colors[my as usize * n + mx as usize] == qrcode::Color::Dark;
                    if dark {
                        20
                    } else {
                        235
                    }
                };
                out.push(luma);
            }
        }
        out.extend(std::iter::repeat_n(128u8, w * h / 2)); // U and V planes: no colour
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn png_has_a_valid_signature_and_size() {
        let png = super::png("hello ticket", 4);
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let w = u32::from_be_bytes(png[16..20].try_into().unwrap());
        assert_eq!(w % 4, 0);
        assert!(super::svg("hello").starts_with("<?xml"));
    }
}
