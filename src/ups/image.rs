//! Label image conversion: a GIF label as PNG.
//!
//! Label Recovery returns GIF, PDF, ZPL, EPL or SPL for 1Z shipments (Shipping.yaml,
//! `LabelRecovery_LabelSpecification_LabelImageFormat.Code`: "PNG" is for Roadie only),
//! while Ship also returns PNG. A connector configured for PNG labels therefore recovers
//! the label as GIF and converts it here, so the label it stores is the format it asked for.
//!
//! Never: log label bytes.

/// Decode a GIF (first frame, composed on its logical screen) and encode it as an RGBA PNG.
pub fn gif_to_png(gif_bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut opts = gif::DecodeOptions::new();
    opts.set_color_output(gif::ColorOutput::RGBA);
    let mut decoder = opts
        .read_info(gif_bytes)
        .map_err(|e| format!("label GIF cannot be decoded: {e}"))?;
    let (width, height) = (decoder.width() as usize, decoder.height() as usize);
    if width == 0 || height == 0 {
        return Err("label GIF has an empty logical screen".into());
    }
    let mut canvas = vec![255u8; width * height * 4];
    let frame = decoder
        .read_next_frame()
        .map_err(|e| format!("label GIF cannot be decoded: {e}"))?
        .ok_or("label GIF has no image")?;
    let (fw, fh) = (frame.width as usize, frame.height as usize);
    let (left, top) = (frame.left as usize, frame.top as usize);
    for y in 0..fh {
        let cy = top + y;
        if cy >= height {
            break;
        }
        for x in 0..fw {
            let cx = left + x;
            if cx >= width {
                break;
            }
            let src = (y * fw + x) * 4;
            let dst = (cy * width + cx) * 4;
            if let Some(px) = frame.buffer.get(src..src + 4) {
                if px[3] != 0 {
                    canvas[dst..dst + 4].copy_from_slice(px);
                }
            }
        }
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, width as u32, height as u32);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc
            .write_header()
            .map_err(|e| format!("PNG encoding failed: {e}"))?;
        w.write_image_data(&canvas)
            .map_err(|e| format!("PNG encoding failed: {e}"))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 2×1 GIF: one black, one white pixel.
    fn tiny_gif() -> Vec<u8> {
        let mut out = Vec::new();
        {
            let palette = [0u8, 0, 0, 255, 255, 255];
            let mut enc = gif::Encoder::new(&mut out, 2, 1, &palette).unwrap();
            let frame = gif::Frame {
                width: 2,
                height: 1,
                buffer: std::borrow::Cow::Owned(vec![0, 1]),
                ..Default::default()
            };
            enc.write_frame(&frame).unwrap();
        }
        out
    }

    #[test]
    fn a_gif_label_becomes_a_png_with_the_same_pixels() {
        let png_bytes = gif_to_png(&tiny_gif()).unwrap();
        assert_eq!(&png_bytes[..8], b"\x89PNG\r\n\x1a\n");
        let dec = png::Decoder::new(std::io::Cursor::new(png_bytes));
        let mut r = dec.read_info().unwrap();
        let mut buf = vec![0; r.output_buffer_size().unwrap()];
        let info = r.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (2, 1));
        assert_eq!(&buf[..8], &[0, 0, 0, 255, 255, 255, 255, 255]);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(gif_to_png(b"not a gif").is_err());
        assert!(gif_to_png(b"GIF89a").is_err());
    }
}
