//! The `Accept` request header (RFC 9110, 12.5.1): which media types a client takes and how
//! much it wants each. Both doors negotiate with it. Also whether `Accept-Encoding` allows
//! gzip, for the assets stored gzip-encoded.

use axum::http::{header, HeaderMap};

/// The media ranges of an `Accept` header, in the order given.
pub struct Accept {
    ranges: Vec<mime::Mime>,
    /// No `Accept`, or only blanks: any media type will do.
    blank: bool,
}

/// How one media type fares: the quality of the most specific range that matches it, how
/// specific that range is (2 exact, 1 `type/*`, 0 `*/*`) and where it is listed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Preference {
    pub quality: f32,
    pub specificity: u8,
    pub position: usize,
}

impl Accept {
    /// The ranges of every `Accept` header; ranges that do not parse are left out.
    pub fn of(headers: &HeaderMap) -> Self {
        let values = || headers.get_all(header::ACCEPT).iter();
        Self {
            ranges: values()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|range| range.trim().parse().ok())
                .collect(),
            blank: values().all(|v| v.as_bytes().iter().all(u8::is_ascii_whitespace)),
        }
    }

    pub fn is_blank(&self) -> bool {
        self.blank
    }

    /// Without the ranges that ask for another charset than `charset`.
    pub fn in_charset(mut self, charset: &str) -> Self {
        self.ranges.retain(|range| {
            range
                .get_param(mime::CHARSET)
                .is_none_or(|c| c.as_str().eq_ignore_ascii_case(charset))
        });
        self
    }

    /// How `media` (an essence, such as `application/json`) fares; `None` when no range
    /// matches it.
    pub fn preference(&self, media: &str) -> Option<Preference> {
        let ty = media.split_once('/').map_or(media, |(ty, _)| ty);
        self.ranges
            .iter()
            .enumerate()
            .filter_map(|(position, range)| {
                let specificity = if range.essence_str().eq_ignore_ascii_case(media) {
                    2
                } else if range.type_() == ty && range.subtype() == mime::STAR {
                    1
                } else if range.type_() == mime::STAR && range.subtype() == mime::STAR {
                    0
                } else {
                    return None;
                };
                let quality = range
                    .get_param("q")
                    .and_then(|q| q.as_str().parse::<f32>().ok())
                    .unwrap_or(1.0);
                Some(Preference {
                    quality,
                    specificity,
                    position,
                })
            })
            // The most specific range decides; of equals, the first listed.
            .max_by(|a, b| {
                a.specificity
                    .cmp(&b.specificity)
                    .then(b.position.cmp(&a.position))
            })
    }

    /// The quality `media` gets: 0 when no range matches it.
    pub fn quality(&self, media: &str) -> f32 {
        self.preference(media).map_or(0.0, |p| p.quality)
    }
}

/// Whether `Accept-Encoding` allows gzip. No header at all means any coding is acceptable
/// (RFC 9110, 12.5.3).
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT_ENCODING).is_none()
        || headers
            .get_all(header::ACCEPT_ENCODING)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|coding| {
                let mut parts = coding.split(';').map(str::trim);
                let name = parts.next().unwrap_or("");
                let refused = parts.any(|p| {
                    p.strip_prefix("q=")
                        .and_then(|q| q.trim().parse::<f32>().ok())
                        .is_some_and(|q| q <= 0.0)
                });
                (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
            })
}
