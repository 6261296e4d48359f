//! QR decoding of camera frames, in pure Rust (rqrr), so the same code runs in the browser (WASM)
//! and in the unit tests. The camera gives RGBA pixels; the decoder wants luminance.

/// The luminance of RGBA pixels (ITU-R BT.601 weights, integer arithmetic).
pub fn luma_from_rgba(rgba: &[u8]) -> Vec<u8> {
    rgba.as_chunks::<4>()
        .0
        .iter()
        .map(|p| ((77 * p[0] as u32 + 150 * p[1] as u32 + 29 * p[2] as u32) >> 8) as u8)
        .collect()
}

/// The text of the first QR code found in a `width`×`height` greyscale frame, if any.
pub fn decode_luma(luma: &[u8], width: usize, height: usize) -> Option<String> {
    if width == 0 || height == 0 || luma.len() < width * height {
        return None;
    }
    let mut image =
        rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| luma[y * width + x]);
    image
        .detect_grids()
        .into_iter()
        .find_map(|grid| grid.decode().ok().map(|(_, text)| text))
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    const TOKEN: &str = "q8lW3k0-9yJ_2mZ7xV1bN4cR6tP5sD0fG8hK2jL3aQw";

    /// The project's own ticket QR code (the PNG the mail carries), as a greyscale bitmap.
    fn ticket_bitmap(token: &str, scale: usize) -> (Vec<u8>, usize) {
        let code =
            qrcode::QrCode::with_error_correction_level(token.as_bytes(), qrcode::EcLevel::M)
                .unwrap();
        // Decode our PNG encoder's output back to pixels, so the test goes through the real renderer.
        let png = crate::ticketing::qr::png(token, scale);
        let size = u32::from_be_bytes(png[16..20].try_into().unwrap()) as usize;
        assert_eq!(size, (code.width() + 8) * scale);
        let mut pos = 8;
        let mut idat = vec![];
        while pos < png.len() {
            let len = u32::from_be_bytes(png[pos..pos + 4].try_into().unwrap()) as usize;
            if &png[pos + 4..pos + 8] == b"IDAT" {
                idat.extend_from_slice(&png[pos + 8..pos + 8 + len]);
            }
            pos += 12 + len;
        }
        let mut raw = vec![];
        std::io::Read::read_to_end(&mut flate2::read::ZlibDecoder::new(&idat[..]), &mut raw)
            .unwrap();
        let pixels = raw
            .chunks_exact(size + 1)
            .flat_map(|row| row[1..].to_vec())
            .collect();
        (pixels, size)
    }

    /// Puts `bitmap` on a `w`×`h` grey background, rotated by `degrees` around its centre, with
    /// pseudo-random noise of ±`noise` levels (nearest-neighbour sampling, as a cheap camera would).
    fn photograph(
        bitmap: &[u8],
        size: usize,
        w: usize,
        h: usize,
        degrees: f64,
        noise: i32,
    ) -> Vec<u8> {
        let (sin, cos) = degrees.to_radians().sin_cos();
        let (cx, cy) = (w as f64 / 2.0, h as f64 / 2.0);
        let half = size as f64 / 2.0;
        let mut seed: u32 = 0x2545_f491;
        let mut out = Vec::with_capacity(w * h);
        for y in 0..h {
            for x in 0..w {
                let (dx, dy) = (x as f64 - cx, y as f64 - cy);
                let (sx, sy) = (cos * dx + sin * dy + half, -sin * dx + cos * dy + half);
                let base = if sx >= 0.0 && sy >= 0.0 && (sx as usize) < size && (sy as usize) < size
                {
                    bitmap[sy as usize * size + sx as usize] as i32
                } else {
                    200
                };
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                let n = if noise == 0 {
                    0
                } else {
                    (seed % (2 * noise as u32 + 1)) as i32 - noise
                };
                out.push((base + n).clamp(0, 255) as u8);
            }
        }
        out
    }

    #[test]
    fn decodes_the_ticket_qr_at_several_sizes() {
        for scale in [2, 3, 5, 8] {
            let (bitmap, size) = ticket_bitmap(TOKEN, scale);
            let frame = photograph(&bitmap, size, 640, 480, 0.0, 0);
            assert_eq!(
                decode_luma(&frame, 640, 480).as_deref(),
                Some(TOKEN),
                "scale {scale}"
            );
        }
    }

    #[test]
    fn decodes_a_rotated_noisy_ticket() {
        let (bitmap, size) = ticket_bitmap(TOKEN, 5);
        for (degrees, noise) in [(90.0, 0), (180.0, 20), (15.0, 30), (-32.0, 40), (47.0, 25)] {
            let frame = photograph(&bitmap, size, 640, 480, degrees, noise);
            assert_eq!(
                decode_luma(&frame, 640, 480).as_deref(),
                Some(TOKEN),
                "{degrees}° noise ±{noise}"
            );
        }
    }

    #[test]
    fn a_frame_without_a_code_decodes_to_nothing() {
        let frame = photograph(&[], 0, 320, 240, 0.0, 60);
        assert_eq!(decode_luma(&frame, 320, 240), None);
        assert_eq!(decode_luma(&[], 0, 0), None);
    }

    #[test]
    fn rgba_becomes_luma() {
        assert_eq!(
            luma_from_rgba(&[255, 255, 255, 255, 0, 0, 0, 255]),
            vec![255, 0]
        );
    }

    #[test]
    fn the_door_test_video_is_a_valid_y4m_that_decodes() {
        let video =
            crate::ticketing::qr::y4m_video("a-ticket-token-of-the-door-test-0123456789", 3);
        let header_end = video.iter().position(|b| *b == b'\n').unwrap() + 1;
        assert!(video.starts_with(b"YUV4MPEG2 W640 H480"));
        let frame = 6 + 640 * 480 * 3 / 2;
        assert_eq!(video.len(), header_end + 3 * frame);
        let luma = &video[header_end + 6..header_end + 6 + 640 * 480];
        assert_eq!(
            decode_luma(luma, 640, 480).as_deref(),
            Some("a-ticket-token-of-the-door-test-0123456789")
        );
    }
}
