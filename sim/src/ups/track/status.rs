//! The UPS statuses the simulator's timelines use (type, 2-char code, 3-digit statusCode,
//! texts; UPS-REFERENCE.md §6, the appendix codes marked [ext]) and the trouble scenarios a
//! package can be given ([`TrackScenario`]).

/// A tracking status (`type`, `code`, `description`, `simplifiedTextDescription`, `statusCode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    pub typ: &'static str,
    pub code: &'static str,
    pub description: &'static str,
    pub simplified: &'static str,
    pub status_code: &'static str,
}

pub const LABEL_CREATED: Status = Status {
    typ: "M",
    code: "MP",
    description: "Shipper created a label, UPS has not received the package yet.",
    simplified: "Label Created",
    status_code: "003",
};
pub const ORIGIN_SCAN: Status = Status {
    typ: "I",
    code: "OR",
    description: "Origin Scan",
    simplified: "On the Way",
    status_code: "005",
};
pub const DEPARTED: Status = Status {
    typ: "I",
    code: "DP",
    description: "Departed from Facility",
    simplified: "On the Way",
    status_code: "005",
};
pub const ARRIVED: Status = Status {
    typ: "I",
    code: "AR",
    description: "Arrived at Facility",
    simplified: "On the Way",
    status_code: "005",
};
pub const OUT_FOR_DELIVERY: Status = Status {
    typ: "I",
    code: "OT",
    description: "Out For Delivery Today",
    simplified: "Out for Delivery",
    status_code: "021",
};
pub const EXCEPTION: Status = Status {
    typ: "X",
    code: "UD",
    description: "The receiver was not available for delivery. We'll make a second attempt the next business day.",
    simplified: "Delivery Attempted",
    status_code: "048",
};
pub const DELIVERED: Status = Status {
    typ: "D",
    code: "FS",
    description: "DELIVERED",
    simplified: "Delivered",
    status_code: "011",
};
pub const VOIDED: Status = Status {
    typ: "MV",
    code: "MV",
    description: "Voided Information Received",
    simplified: "Label Created",
    status_code: "003",
};

/// Address exception (UPS-REFERENCE §6: type `X` = exception; statusCode `029` "exception,
/// action required" — [ext, not in the spec: code `AD` and the text follow UPS's public
/// tracking pages]).
pub const ADDRESS_EXCEPTION: Status = Status {
    typ: "X",
    code: "AD",
    description: "The address is incomplete. We're attempting to obtain the correct address.",
    simplified: "Exception",
    status_code: "029",
};
/// The address was corrected after [`ADDRESS_EXCEPTION`] (UPS-REFERENCE §6: `I`/`AR`/`005`).
pub const ADDRESS_UPDATED: Status = Status {
    typ: "I",
    code: "AR",
    description: "Address information updated",
    simplified: "On the Way",
    status_code: "005",
};
/// Arrival at a UPS Access Point, variant `D` (UPS-REFERENCE §6 lists `KB` among the delivered
/// codes). [ext, not in the spec: UPS shows this arrival both as type `D` and as type `I`;
/// the simulator does both variants, see [`AP_ARRIVED_I`] and [`access_point_variant`].]
pub const AP_ARRIVED_D: Status = Status {
    typ: "D",
    code: "KB",
    description: "Delivered to UPS Access Point™. Awaiting customer pickup.",
    simplified: "Ready for Pickup",
    status_code: "040",
};
/// Arrival at a UPS Access Point, variant `I` (same code and text as [`AP_ARRIVED_D`]).
/// [ext, not in the spec: the simulator does both variants.]
pub const AP_ARRIVED_I: Status = Status {
    typ: "I",
    ..AP_ARRIVED_D
};
/// The consignee collected the package at the Access Point: the real delivery (type `D`,
/// statusCode `011` delivered, UPS-REFERENCE §6). [ext, not in the spec: code `KM`.]
pub const AP_PICKED_UP: Status = Status {
    typ: "D",
    code: "KM",
    description: "Picked up by the customer at the UPS Access Point™",
    simplified: "Delivered",
    status_code: "011",
};
/// The package turns back after the last failed attempt (type `X`, UPS-REFERENCE §6).
/// [ext, not in the spec: code `RT`, statusCode `035`.]
pub const RETURNING: Status = Status {
    typ: "X",
    code: "RT",
    description: "Returning to sender: the receiver was not available after the final attempt",
    simplified: "Returning to Sender",
    status_code: "035",
};
/// Back at the shipper: terminal (UPS-REFERENCE §6: type `RS` "returned to shipper").
/// [ext, not in the spec: code `RS`, statusCode `034`.]
pub const RETURNED: Status = Status {
    typ: "RS",
    code: "RS",
    description: "Returned to shipper",
    simplified: "Returned to Sender",
    status_code: "034",
};

/// What a package's tracking does (issue 18), chosen per package by tracking number or by a
/// reference value (`/_sim/ups/track-scenarios`, [`super::SimHandle::set_track_scenario`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TrackScenario {
    /// The plain path, with the hash-chosen ~10 % one-attempt path.
    #[default]
    Normal,
    /// The plain path, never an attempt.
    Delivered,
    /// One failed attempt (`X`/`UD`/`048`), delivered the next business day (`RDD`).
    AttemptThenDelivered,
    /// Left at a UPS Access Point (`KB`/`040`, type `D` or `I` by hash), picked up two
    /// business days later (`D`/`KM`/`011`).
    AccessPoint,
    /// Address exception (`X`/`AD`/`029`), address updated next day, delivered (`RDD`).
    ExceptionThenDelivered,
    /// Two failed attempts, returning (`X`/`RT`/`035`), back at the shipper (`RS`/`RS`/`034`).
    ReturnedToSender,
    /// Only the label-created event, forever.
    NeverScanned,
    /// Track knows nothing of the number (`TW0001`); no Track Alert events.
    Unknown,
    /// Origin scan, departure, arrival at a hub, then nothing ever again.
    Stalled,
}

/// An unknown scenario name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown track scenario '{0}': use one of normal, delivered, attempt_then_delivered, access_point, exception_then_delivered, returned_to_sender, never_scanned, unknown, stalled")]
pub struct UnknownScenario(pub String);

impl TrackScenario {
    /// Every scenario, in documentation order.
    pub const ALL: [TrackScenario; 9] = [
        TrackScenario::Normal,
        TrackScenario::Delivered,
        TrackScenario::AttemptThenDelivered,
        TrackScenario::AccessPoint,
        TrackScenario::ExceptionThenDelivered,
        TrackScenario::ReturnedToSender,
        TrackScenario::NeverScanned,
        TrackScenario::Unknown,
        TrackScenario::Stalled,
    ];

    /// The snake_case name used by the admin route.
    pub fn as_str(self) -> &'static str {
        match self {
            TrackScenario::Normal => "normal",
            TrackScenario::Delivered => "delivered",
            TrackScenario::AttemptThenDelivered => "attempt_then_delivered",
            TrackScenario::AccessPoint => "access_point",
            TrackScenario::ExceptionThenDelivered => "exception_then_delivered",
            TrackScenario::ReturnedToSender => "returned_to_sender",
            TrackScenario::NeverScanned => "never_scanned",
            TrackScenario::Unknown => "unknown",
            TrackScenario::Stalled => "stalled",
        }
    }
}

impl std::str::FromStr for TrackScenario {
    type Err = UnknownScenario;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        TrackScenario::ALL
            .into_iter()
            .find(|x| x.as_str().eq_ignore_ascii_case(t))
            .ok_or_else(|| UnknownScenario(t.to_string()))
    }
}

impl std::fmt::Display for TrackScenario {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
