//! Shipping labels the simulator hands back: real images (GIF, PNG) drawn with a tiny
//! built-in 5×7 bitmap font and a fake barcode, and real printer text (ZPL, EPL, SPL),
//! each showing the tracking number. UPS-REFERENCE §2.4 (`ShippingLabel.GraphicImage` =
//! base64 of the image bytes or of the raw printer text).
//!
//! Labels are cheap on purpose (the benchmarks ship thousands per second): a 1-bit
//! 240×360 image (4×6 in at 60 dpi), a cached blank frame, no anti-aliasing.
//! Nothing here logs: labels carry names and addresses.

use std::sync::OnceLock;

/// Label image formats UPS returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum LabelFormat {
    Gif,
    Png,
    Zpl,
    Epl,
    Spl,
}

impl LabelFormat {
    pub fn parse(code: &str) -> Option<LabelFormat> {
        match code.to_ascii_uppercase().as_str() {
            "GIF" => Some(LabelFormat::Gif),
            "PNG" => Some(LabelFormat::Png),
            "ZPL" => Some(LabelFormat::Zpl),
            "EPL" => Some(LabelFormat::Epl),
            "SPL" => Some(LabelFormat::Spl),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            LabelFormat::Gif => "GIF",
            LabelFormat::Png => "PNG",
            LabelFormat::Zpl => "ZPL",
            LabelFormat::Epl => "EPL",
            LabelFormat::Spl => "SPL",
        }
    }

    /// Thermal printer formats need `LabelStockSize`.
    pub fn is_thermal(self) -> bool {
        matches!(self, LabelFormat::Zpl | LabelFormat::Epl | LabelFormat::Spl)
    }

    pub fn is_image(self) -> bool {
        matches!(self, LabelFormat::Gif | LabelFormat::Png)
    }
}

/// What a label shows.
#[derive(Debug, Clone, Default)]
pub struct LabelInfo {
    pub tracking_number: String,
    pub service_name: String,
    pub ship_to_name: String,
    /// `CITY ST POSTAL CC`
    pub ship_to_place: String,
    pub ship_from_place: String,
    pub weight: String,
    pub reference: Option<String>,
    /// 1-based package index and count (`1 OF 2`).
    pub index: usize,
    pub count: usize,
}

/// The label bytes (image bytes, or printer text as UTF-8 bytes).
pub fn render(format: LabelFormat, info: &LabelInfo) -> Vec<u8> {
    match format {
        LabelFormat::Gif => gif_bytes(&draw(info)),
        LabelFormat::Png => png_bytes(&draw(info)),
        LabelFormat::Zpl => zpl(info).into_bytes(),
        LabelFormat::Epl => epl(info).into_bytes(),
        LabelFormat::Spl => spl(info).into_bytes(),
    }
}

/// A one-page PDF with the label's text (Label Recovery's `PDF` format): a minimal but
/// well-formed PDF 1.4 file (catalog, page, Helvetica, content stream, xref table).
pub fn pdf(info: &LabelInfo) -> Vec<u8> {
    let esc = |t: &str| -> String {
        t.chars()
            .filter(|c| c.is_ascii() && !c.is_ascii_control())
            .map(|c| match c {
                '(' | ')' | '\\' => format!("\\{c}"),
                c => c.to_string(),
            })
            .collect()
    };
    let lines = [
        info.service_name.clone(),
        format!("SHIP TO: {}", info.ship_to_name),
        info.ship_to_place.clone(),
        format!("FROM: {}", info.ship_from_place),
        format!("{} LBS   {} OF {}", info.weight, info.index, info.count),
        format!("TRACKING #: {}", pretty_1z(&info.tracking_number)),
        info.reference
            .clone()
            .map(|r| format!("REF: {r}"))
            .unwrap_or_default(),
    ];
    let mut content = String::from("BT /F1 14 Tf 36 400 Td 18 TL\n");
    for l in lines.iter().filter(|l| !l.is_empty()) {
        content.push_str(&format!("({}) Tj T*\n", esc(l)));
    }
    content.push_str("ET\n");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 288 432] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_string(),
        format!("<< /Length {} >>\nstream\n{content}endstream", content.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut out = String::from("%PDF-1.4\n");
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.push_str(&format!("{} 0 obj\n{o}\nendobj\n", i + 1));
    }
    let xref = out.len();
    out.push_str(&format!(
        "xref\n0 {}\n0000000000 65535 f \n",
        objects.len() + 1
    ));
    for off in offsets {
        out.push_str(&format!("{off:010} 00000 n \n"));
    }
    out.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    ));
    out.into_bytes()
}

/// The `HTMLImage` UPS sends with GIF/PNG labels (an HTML page that shows the image).
pub fn html_page(format: LabelFormat, tracking_number: &str) -> String {
    format!(
        "<HTML><HEAD><TITLE>View/Print Label</TITLE></HEAD><BODY><IMG SRC=\"./label{tracking_number}.{}\" height=\"392\" width=\"651\"></BODY></HTML>",
        format.code().to_ascii_lowercase()
    )
}

/// `1Z123X560300000018` → `1Z 123 X56 03 0000 001 8` style grouping used on labels.
pub fn pretty_1z(n: &str) -> String {
    if n.len() != 18 {
        return n.to_string();
    }
    format!(
        "{} {} {} {} {} {}",
        &n[0..2],
        &n[2..5],
        &n[5..8],
        &n[8..10],
        &n[10..14],
        &n[14..18]
    )
}

fn ascii_upper(s: &str, max: usize) -> String {
    s.chars()
        .map(|c| match c {
            'ä' | 'à' | 'á' | 'â' | 'Ä' | 'À' | 'Á' | 'Â' => 'A',
            'ë' | 'è' | 'é' | 'ê' | 'Ë' | 'È' | 'É' | 'Ê' => 'E',
            'ï' | 'ì' | 'í' | 'î' => 'I',
            'ö' | 'ò' | 'ó' | 'ô' | 'Ö' | 'Ó' => 'O',
            'ü' | 'ù' | 'ú' | 'û' | 'Ü' | 'Ú' => 'U',
            'ß' => 'S',
            'ñ' | 'Ñ' => 'N',
            'ç' | 'Ç' => 'C',
            c if c.is_ascii() && !c.is_ascii_control() => c.to_ascii_uppercase(),
            _ => '?',
        })
        .take(max)
        .collect()
}

fn text_lines(info: &LabelInfo) -> Vec<String> {
    let mut lines = vec![
        format!("SHIP TO: {}", info.ship_to_name),
        info.ship_to_place.clone(),
        format!("FROM: {}", info.ship_from_place),
        format!("{} LBS  {} OF {}", info.weight, info.index, info.count),
    ];
    if let Some(r) = &info.reference {
        lines.push(format!("REF: {r}"));
    }
    lines
}

// ---------------------------------------------------------------- printer text

fn zpl(info: &LabelInfo) -> String {
    let mut s = String::with_capacity(600);
    s.push_str("^XA\n^CI28\n^PW812\n^LL1218\n");
    s.push_str(&format!(
        "^FO40,30^A0N,50,50^FD{}^FS\n",
        ascii_upper(&info.service_name, 30)
    ));
    let mut y = 110;
    for line in text_lines(info) {
        s.push_str(&format!("^FO40,{y}^A0N,30,30^FD{}^FS\n", zpl_escape(&line)));
        y += 40;
    }
    s.push_str(&format!(
        "^FO40,{}^A0N,36,36^FDTRACKING #: {}^FS\n",
        y + 20,
        pretty_1z(&info.tracking_number)
    ));
    s.push_str(&format!(
        "^FO40,{}^BY3^BCN,200,N,N,N^FD>:{}^FS\n",
        y + 80,
        info.tracking_number
    ));
    s.push_str("^XZ\n");
    s
}

fn zpl_escape(s: &str) -> String {
    s.replace(['^', '~'], " ")
}

fn epl(info: &LabelInfo) -> String {
    let mut s = String::with_capacity(600);
    s.push_str("\nN\nq812\nQ1218,24\n");
    s.push_str(&format!(
        "A40,30,0,4,2,2,N,\"{}\"\n",
        epl_escape(&ascii_upper(&info.service_name, 30))
    ));
    let mut y = 110;
    for line in text_lines(info) {
        s.push_str(&format!("A40,{y},0,3,1,1,N,\"{}\"\n", epl_escape(&line)));
        y += 40;
    }
    s.push_str(&format!(
        "A40,{},0,4,1,1,N,\"TRACKING #: {}\"\n",
        y + 20,
        pretty_1z(&info.tracking_number)
    ));
    s.push_str(&format!(
        "B40,{},0,1,3,7,200,N,\"{}\"\n",
        y + 80,
        info.tracking_number
    ));
    s.push_str("P1\n");
    s
}

fn epl_escape(s: &str) -> String {
    s.replace('"', "'")
}

/// SPL (UPS's Smart Printer Language family): line-oriented text commands, like EPL.
fn spl(info: &LabelInfo) -> String {
    let mut s = String::with_capacity(600);
    s.push_str("SPL1\nSIZE 4,6\n");
    s.push_str(&format!(
        "TEXT 40,30,4,\"{}\"\n",
        epl_escape(&ascii_upper(&info.service_name, 30))
    ));
    let mut y = 110;
    for line in text_lines(info) {
        s.push_str(&format!("TEXT 40,{y},3,\"{}\"\n", epl_escape(&line)));
        y += 40;
    }
    s.push_str(&format!(
        "TEXT 40,{},4,\"TRACKING #: {}\"\n",
        y + 20,
        pretty_1z(&info.tracking_number)
    ));
    s.push_str(&format!(
        "BARCODE 40,{},128,200,\"{}\"\nPRINT 1\n",
        y + 80,
        info.tracking_number
    ));
    s
}

// ---------------------------------------------------------------- bitmap images

pub const WIDTH: usize = 240;
pub const HEIGHT: usize = 360;

/// A 1-bit canvas, one byte per pixel (0 white, 1 black) so GIF encoding needs no copy.
pub struct Canvas {
    pub w: usize,
    pub h: usize,
    pub px: Vec<u8>,
}

impl Canvas {
    fn blank(w: usize, h: usize) -> Canvas {
        Canvas {
            w,
            h,
            px: vec![0; w * h],
        }
    }

    fn rect(&mut self, x: usize, y: usize, w: usize, h: usize) {
        for yy in y..(y + h).min(self.h) {
            let row = yy * self.w;
            for xx in x..(x + w).min(self.w) {
                self.px[row + xx] = 1;
            }
        }
    }

    /// Draw `text` at (x, y) with the 5×7 font scaled by `scale`; clipped at the edge.
    pub fn text(&mut self, x: usize, y: usize, scale: usize, text: &str) {
        let mut cx = x;
        for c in ascii_upper(text, 200).bytes() {
            if cx + 5 * scale > self.w {
                break;
            }
            let g = glyph(c);
            for (row, bits) in g.iter().enumerate() {
                for col in 0..5 {
                    if bits & (0x10 >> col) != 0 {
                        self.rect(cx + col * scale, y + row * scale, scale, scale);
                    }
                }
            }
            cx += 6 * scale;
        }
    }
}

fn frame() -> &'static Canvas {
    static FRAME: OnceLock<Canvas> = OnceLock::new();
    FRAME.get_or_init(|| {
        let mut c = Canvas::blank(WIDTH, HEIGHT);
        // border
        c.rect(0, 0, WIDTH, 2);
        c.rect(0, HEIGHT - 2, WIDTH, 2);
        c.rect(0, 0, 2, HEIGHT);
        c.rect(WIDTH - 2, 0, 2, HEIGHT);
        // separators
        c.rect(0, 44, WIDTH, 2);
        c.rect(0, 190, WIDTH, 2);
        c.text(8, 8, 2, "UPS");
        c
    })
}

fn draw(info: &LabelInfo) -> Canvas {
    let f = frame();
    let mut c = Canvas {
        w: f.w,
        h: f.h,
        px: f.px.clone(),
    };
    c.text(8, 28, 1, &info.service_name);
    let mut y = 54;
    for line in text_lines(info) {
        c.text(8, y, 1, &line);
        y += 12;
    }
    c.text(8, 198, 1, "TRACKING #:");
    // 18 chars × 12 px = 216 px: fits in 240 with the margins
    c.text(12, 210, 2, &info.tracking_number);
    barcode(&mut c, &info.tracking_number, 12, 240, 216, 90);
    c.text(8, 340, 1, &pretty_1z(&info.tracking_number));
    c
}

/// A deterministic bar pattern from the number's bytes (looks like a barcode; not scannable).
fn barcode(c: &mut Canvas, data: &str, x: usize, y: usize, w: usize, h: usize) {
    let mut bits = Vec::with_capacity(w);
    for b in data.bytes() {
        let v = b.wrapping_mul(37) ^ 0x5A;
        for i in 0..6 {
            bits.push((v >> i) & 1 == 1);
        }
    }
    let unit = (w / bits.len().max(1)).max(1);
    for (i, bar) in bits.iter().enumerate() {
        if *bar {
            c.rect(x + i * unit, y, unit, h);
        }
    }
}

/// A two-colour GIF89a, LZW-encoded here: with only two pixel values the LZW dictionary
/// is a dense `[child; 2]` table, which is several times faster than a general encoder
/// (the benchmarks render thousands of labels per second).
pub fn gif_bytes(c: &Canvas) -> Vec<u8> {
    let mut out = Vec::with_capacity(6 * 1024);
    out.extend_from_slice(b"GIF89a");
    out.extend_from_slice(&(c.w as u16).to_le_bytes());
    out.extend_from_slice(&(c.h as u16).to_le_bytes());
    // global colour table present, 1-bit colour resolution, 2 entries
    out.extend_from_slice(&[0x80, 0, 0]);
    out.extend_from_slice(&[255, 255, 255, 0, 0, 0]);
    // image descriptor: whole canvas, no local table, not interlaced
    out.push(0x2C);
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&(c.w as u16).to_le_bytes());
    out.extend_from_slice(&(c.h as u16).to_le_bytes());
    out.push(0);
    out.push(2); // LZW minimum code size
    let data = lzw_two_colour(&c.px);
    for chunk in data.chunks(255) {
        out.push(chunk.len() as u8);
        out.extend_from_slice(chunk);
    }
    out.push(0);
    out.push(0x3B);
    out
}

/// GIF LZW (LSB-first, no early change) for pixels that are 0 or 1.
fn lzw_two_colour(px: &[u8]) -> Vec<u8> {
    const CLEAR: u16 = 4;
    const EOI: u16 = 5;
    const FIRST: u16 = 6;
    const MAX: u16 = 4096;
    struct Bits {
        out: Vec<u8>,
        acc: u32,
        n: u32,
    }
    impl Bits {
        #[inline]
        fn put(&mut self, code: u16, size: u32) {
            self.acc |= u32::from(code) << self.n;
            self.n += size;
            while self.n >= 8 {
                self.out.push(self.acc as u8);
                self.acc >>= 8;
                self.n -= 8;
            }
        }
    }
    let mut bits = Bits {
        out: Vec::with_capacity(px.len() / 8),
        acc: 0,
        n: 0,
    };
    let mut table = vec![[0u16; 2]; MAX as usize];
    let mut size: u32 = 3;
    let mut next = FIRST;
    bits.put(CLEAR, size);
    let Some((&first, rest)) = px.split_first() else {
        bits.put(EOI, size);
        if bits.n > 0 {
            bits.out.push(bits.acc as u8);
        }
        return bits.out;
    };
    let mut prefix = u16::from(first & 1);
    for &p in rest {
        let k = usize::from(p & 1);
        let child = table[prefix as usize][k];
        if child != 0 {
            prefix = child;
            continue;
        }
        bits.put(prefix, size);
        if next < MAX {
            table[prefix as usize][k] = next;
            next += 1;
            if u32::from(next) > (1 << size) && size < 12 {
                size += 1;
            }
        } else {
            bits.put(CLEAR, size);
            table.iter_mut().for_each(|e| *e = [0, 0]);
            size = 3;
            next = FIRST;
        }
        prefix = k as u16;
    }
    bits.put(prefix, size);
    bits.put(EOI, size);
    if bits.n > 0 {
        bits.out.push(bits.acc as u8);
    }
    bits.out
}

fn png_bytes(c: &Canvas) -> Vec<u8> {
    // pack to 1 bit per pixel, black = 0 in a grayscale PNG
    let stride = c.w.div_ceil(8);
    let mut packed = vec![0u8; stride * c.h];
    for y in 0..c.h {
        for x in 0..c.w {
            if c.px[y * c.w + x] == 0 {
                packed[y * stride + x / 8] |= 0x80 >> (x % 8);
            }
        }
    }
    let mut out = Vec::with_capacity(8 * 1024);
    {
        let mut enc = png::Encoder::new(&mut out, c.w as u32, c.h as u32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::One);
        enc.set_compression(png::Compression::Fast);
        let mut w = enc.write_header().expect("writing to a Vec cannot fail");
        w.write_image_data(&packed)
            .expect("image size matches the header");
    }
    out
}

/// A small GIF with a name written on it (Track's `signature.image`, Track Alert photo).
pub fn signature_gif(name: &str) -> Vec<u8> {
    let mut c = Canvas::blank(160, 40);
    c.text(6, 6, 1, "SIGNED:");
    c.text(6, 18, 2, name);
    c.rect(4, 36, 150, 1);
    gif_bytes(&c)
}

/// A one-page PDF (Helvetica, ASCII) with a title and lines of text: the international
/// forms document (`ShipmentResults.Form.Image`, §2.2).
pub fn simple_pdf(title: &str, lines: &[String]) -> Vec<u8> {
    fn esc(s: &str) -> String {
        ascii_upper(s, 90)
            .replace('\\', "\\\\")
            .replace('(', "\\(")
            .replace(')', "\\)")
    }
    let mut content = format!("BT /F1 18 Tf 56 760 Td ({}) Tj ET\n", esc(title));
    content.push_str("BT /F1 10 Tf 56 730 Td 14 TL\n");
    for l in lines.iter().take(48) {
        content.push_str(&format!("({}) '\n", esc(l)));
    }
    content.push_str("ET\n");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_string(),
        format!("<< /Length {} >>\nstream\n{content}endstream", content.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

fn glyph(c: u8) -> [u8; 7] {
    match c {
        b'0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        b'1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        b'2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        b'3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        b'4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        b'5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        b'6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        b'7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        b'8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        b'9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        b'A' => [0x0E, 0x11, 0x11, 0x11, 0x1F, 0x11, 0x11],
        b'B' => [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        b'C' => [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E],
        b'D' => [0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C],
        b'E' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F],
        b'F' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        b'G' => [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F],
        b'H' => [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        b'I' => [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E],
        b'J' => [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C],
        b'K' => [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11],
        b'L' => [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        b'M' => [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11],
        b'N' => [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
        b'O' => [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        b'P' => [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        b'Q' => [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D],
        b'R' => [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        b'S' => [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E],
        b'T' => [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        b'U' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        b'V' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04],
        b'W' => [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A],
        b'X' => [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11],
        b'Y' => [0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04],
        b'Z' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F],
        b'-' => [0, 0, 0, 0x1F, 0, 0, 0],
        b'.' => [0, 0, 0, 0, 0, 0x0C, 0x0C],
        b':' => [0, 0x0C, 0x0C, 0, 0x0C, 0x0C, 0],
        b'/' => [0, 0x01, 0x02, 0x04, 0x08, 0x10, 0],
        b'#' => [0x0A, 0x0A, 0x1F, 0x0A, 0x1F, 0x0A, 0x0A],
        b',' => [0, 0, 0, 0, 0x0C, 0x04, 0x08],
        b'(' => [0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02],
        b')' => [0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08],
        b'&' => [0x0C, 0x12, 0x14, 0x08, 0x15, 0x12, 0x0D],
        b'\'' => [0x0C, 0x04, 0x08, 0, 0, 0, 0],
        b' ' => [0; 7],
        _ => [0x1F, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1F],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> LabelInfo {
        LabelInfo {
            tracking_number: "1Z123X560300000018".into(),
            service_name: "UPS Ground".into(),
            ship_to_name: "Zoë Müller".into(),
            ship_to_place: "ALPHARETTA GA 30005 US".into(),
            ship_from_place: "TIMONIUM MD 21093 US".into(),
            weight: "5.0".into(),
            reference: Some("PO-1001".into()),
            index: 1,
            count: 1,
        }
    }

    #[test]
    fn gif_is_a_real_gif_of_the_declared_size() {
        let b = render(LabelFormat::Gif, &info());
        assert_eq!(&b[..6], b"GIF89a");
        assert_eq!(u16::from_le_bytes([b[6], b[7]]) as usize, WIDTH);
        assert_eq!(u16::from_le_bytes([b[8], b[9]]) as usize, HEIGHT);
        assert_eq!(*b.last().unwrap(), 0x3B);
    }

    #[test]
    fn gif_decodes_to_the_drawn_pixels() {
        let mut i = info();
        for n in ["1Z123X560300000018", "1Z999AA10123456784"] {
            i.tracking_number = n.into();
            let canvas = draw(&i);
            let bytes = gif_bytes(&canvas);
            let mut opts = gif::DecodeOptions::new();
            opts.set_color_output(gif::ColorOutput::Indexed);
            let mut d = opts.read_info(std::io::Cursor::new(bytes)).unwrap();
            let f = d.read_next_frame().unwrap().unwrap();
            assert_eq!((f.width as usize, f.height as usize), (WIDTH, HEIGHT));
            assert!(
                f.buffer.iter().eq(canvas.px.iter()),
                "pixels differ for {n}"
            );
        }
        // noisy input exercises dictionary resets
        let mut c = Canvas::blank(300, 300);
        let mut x: u32 = 12345;
        for p in c.px.iter_mut() {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            *p = ((x >> 16) & 1) as u8;
        }
        let mut opts = gif::DecodeOptions::new();
        opts.set_color_output(gif::ColorOutput::Indexed);
        let mut d = opts.read_info(std::io::Cursor::new(gif_bytes(&c))).unwrap();
        let f = d.read_next_frame().unwrap().unwrap();
        assert!(f.buffer.iter().eq(c.px.iter()));
    }

    #[test]
    fn png_decodes_and_shows_ink() {
        let b = render(LabelFormat::Png, &info());
        assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n");
        let dec = png::Decoder::new(std::io::Cursor::new(b));
        let mut r = dec.read_info().unwrap();
        let mut buf = vec![0; r.output_buffer_size().unwrap()];
        let frame = r.next_frame(&mut buf).unwrap();
        assert_eq!(frame.width as usize, WIDTH);
        assert!(buf[..frame.buffer_size()].iter().any(|b| *b != 0xFF));
    }

    #[test]
    fn tracking_number_is_drawn() {
        // the canvas region where the number goes differs with the number
        let a = draw(&info());
        let mut other = info();
        other.tracking_number = "1Z999AA10123456784".into();
        let b = draw(&other);
        let region = |c: &Canvas| -> Vec<u8> { c.px[210 * WIDTH..224 * WIDTH].to_vec() };
        assert_ne!(region(&a), region(&b));
        assert!(region(&a).contains(&1));
    }

    #[test]
    fn printer_text_contains_the_number() {
        for f in [LabelFormat::Zpl, LabelFormat::Epl, LabelFormat::Spl] {
            let t = String::from_utf8(render(f, &info())).unwrap();
            assert!(t.contains("1Z123X560300000018"), "{f:?}");
        }
        let z = String::from_utf8(render(LabelFormat::Zpl, &info())).unwrap();
        assert!(z.starts_with("^XA") && z.trim_end().ends_with("^XZ"));
    }

    #[test]
    fn pdf_has_a_valid_xref() {
        let pdf = simple_pdf(
            "COMMERCIAL INVOICE",
            &["1Z123X560300000018".into(), "A (B) C".into()],
        );
        let text = String::from_utf8(pdf.clone()).unwrap();
        assert!(text.starts_with("%PDF-1.4") && text.trim_end().ends_with("%%EOF"));
        assert!(text.contains("1Z123X560300000018"));
        assert!(text.contains("A \\(B\\) C"));
        // startxref points at the xref table; each entry points at "N 0 obj"
        let sx: usize = text
            .rsplit("startxref\n")
            .next()
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(text[sx..].starts_with("xref"));
        for (i, line) in text[sx..].lines().skip(3).take(5).enumerate() {
            let off: usize = line[..10].parse().unwrap();
            assert!(
                text[off..].starts_with(&format!("{} 0 obj", i + 1)),
                "object {}",
                i + 1
            );
        }
    }

    #[test]
    fn signature_is_a_gif() {
        assert_eq!(&signature_gif("JOHN")[..6], b"GIF89a");
    }
}
