//! A phone number's time zone, where the number alone tells it: a country with a single zone, or
//! a North American area code that lies wholly in one zone. Everything else answers `None` and
//! the contact falls back to `schedule.timezone` (or is skipped with
//! `schedule.require_known_timezone`).
//!
//! No maintained Rust crate maps numbers to zones (libphonenumber's timezone mapper has no Rust
//! port), so this is a small table of our own, and it is conservative on purpose: guessing
//! wrong means calling someone at the wrong hour, guessing nothing means the campaign's default
//! zone. So:
//! - NANP area codes are listed only when every place they serve keeps the same local time. Codes
//!   that straddle a zone line are left out and listed in [`NANP_SPLIT`] with the reason, for the
//!   record and so a test can check the two lists never meet: e.g. 850 (Florida panhandle),
//!   906 (Michigan's Upper Peninsula), 605 (South Dakota), 928 (northern Arizona, where the
//!   Navajo Nation keeps daylight time and the rest of Arizona does not), 907 (Alaska and the
//!   Aleutians). Toll-free and other non-geographic codes (800, 888, 500, …) are not listed.
//! - Area codes are where a number was first assigned; a mobile number keeps its area code when
//!   its owner moves. This is the usual basis for calling-hours rules, but a `timezone_column`
//!   is always better where the clinic knows the zone.
//! - Countries are listed when the whole country keeps one local time. Zones with the same rules
//!   under two names (Melbourne and Hobart, since 2008) count as one.
//!
//! The data reflects the North American Numbering Plan and the tz database as of 2026.

use std::collections::HashMap;
use std::sync::LazyLock;

/// NANP area codes that lie wholly in one zone, by zone.
const NANP: &[(&str, &[u16])] = &[
    (
        "America/New_York",
        &[
            // Connecticut, Delaware, DC, Georgia, Maine, Maryland, Massachusetts
            203, 475, 860, 959, 302, 202, 771, 229, 404, 470, 478, 678, 706, 762, 770, 912, 943,
            207, 227, 240, 301, 410, 443, 667, 339, 351, 413, 508, 617, 774, 781, 857, 978,
            // Florida (but the panhandle, 850/448), Kentucky's east (859)
            239, 305, 321, 324, 352, 386, 407, 561, 645, 656, 689, 727, 728, 754, 772, 786, 813,
            863, 904, 941, 954, 859, // New Hampshire, New Jersey, New York
            603, 201, 551, 609, 640, 732, 848, 856, 862, 908, 973, 212, 315, 329, 332, 347, 363,
            516, 518, 585, 607, 624, 631, 646, 680, 716, 718, 838, 845, 914, 917, 929, 934,
            // North Carolina, Ohio, Pennsylvania, Rhode Island, South Carolina
            252, 336, 472, 704, 743, 828, 910, 919, 980, 984, 216, 220, 234, 326, 330, 380, 419,
            436, 440, 513, 567, 614, 740, 937, 215, 223, 267, 272, 412, 445, 484, 570, 582, 610,
            717, 724, 814, 835, 878, 401, 803, 821, 839, 843, 854, 864,
            // East Tennessee (865), Vermont, Virginia, West Virginia
            865, 802, 276, 434, 540, 571, 686, 703, 757, 804, 826, 948, 304, 681,
        ],
    ),
    (
        "America/Detroit",
        &[231, 248, 269, 313, 517, 586, 616, 679, 734, 810, 947, 989],
    ),
    ("America/Kentucky/Louisville", &[502]),
    ("America/Indiana/Indianapolis", &[260, 317, 463, 765]),
    (
        "America/Chicago",
        &[
            // Alabama, Arkansas, Illinois, Iowa
            205, 251, 256, 334, 659, 938, 327, 479, 501, 870, 217, 224, 309, 312, 331, 447, 464,
            618, 630, 708, 730, 773, 779, 815, 847, 861, 872, 319, 515, 563, 641, 712,
            // Kansas's east (316, 913), Louisiana, Minnesota, Mississippi, Missouri
            316, 913, 225, 318, 337, 457, 504, 985, 218, 320, 507, 612, 651, 763, 924, 952, 228,
            601, 662, 769, 235, 314, 417, 557, 573, 636, 660, 816, 975,
            // Nebraska's east, Oklahoma, Tennessee's middle and west (not 423, 931)
            402, 531, 405, 539, 572, 580, 918, 615, 629, 731, 901,
            // Texas (not 915 or 432)
            210, 214, 254, 281, 325, 346, 361, 409, 430, 469, 512, 682, 713, 726, 737, 806, 817,
            830, 832, 903, 936, 940, 945, 956, 972, 979, // Wisconsin
            262, 274, 353, 414, 534, 608, 715, 920,
        ],
    ),
    (
        "America/Denver",
        &[
            // Colorado, Montana, New Mexico, Utah, Wyoming, El Paso (915)
            303, 719, 720, 970, 983, 406, 505, 575, 385, 435, 801, 307, 915,
        ],
    ),
    ("America/Phoenix", &[480, 520, 602, 623]),
    (
        "America/Los_Angeles",
        &[
            // California
            209, 213, 279, 310, 323, 341, 350, 408, 415, 424, 442, 510, 530, 559, 562, 619, 626,
            628, 650, 657, 661, 669, 707, 714, 747, 760, 805, 818, 820, 831, 837, 840, 858, 909,
            916, 925, 949, 951, // Nevada's south, Oregon's west, Washington
            702, 725, 503, 971, 206, 253, 360, 425, 509, 564,
        ],
    ),
    ("Pacific/Honolulu", &[808]),
    ("America/Puerto_Rico", &[787, 939]),
    ("America/St_Thomas", &[340]),
    ("Pacific/Guam", &[671]),
    ("Pacific/Saipan", &[670]),
    ("Pacific/Pago_Pago", &[684]),
    // Canada
    ("America/Vancouver", &[604]),
    ("America/Edmonton", &[368, 403, 587, 780, 825]),
    ("America/Winnipeg", &[204, 431, 584]),
    (
        "America/Toronto",
        &[
            // Ontario (not 807)
            226, 249, 289, 343, 365, 382, 416, 437, 519, 548, 613, 647, 683, 705, 742, 753, 905,
            // Quebec (not 418/581/367)
            263, 354, 438, 450, 468, 514, 579, 819, 873,
        ],
    ),
    ("America/Moncton", &[428, 506]),
    ("America/Halifax", &[782, 902]),
];

/// NANP area codes deliberately left out: they straddle a zone line (or a daylight-saving line).
pub const NANP_SPLIT: &[(u16, &str)] = &[
    (208, "Idaho: the north keeps Pacific time"),
    (986, "Idaho: the north keeps Pacific time"),
    (219, "northwest Indiana, near the Central/Eastern line"),
    (574, "north Indiana: Starke County keeps Central time"),
    (
        812,
        "south Indiana: the southwest corner keeps Central time",
    ),
    (
        930,
        "south Indiana: the southwest corner keeps Central time",
    ),
    (270, "west Kentucky: Central and Eastern counties"),
    (364, "west Kentucky: Central and Eastern counties"),
    (606, "east Kentucky: Clinton County keeps Central time"),
    (
        423,
        "east Tennessee: Marion County and others keep Central time",
    ),
    (931, "middle Tennessee, near the Central/Eastern line"),
    (850, "Florida panhandle: Central west of the Apalachicola"),
    (448, "Florida panhandle: Central west of the Apalachicola"),
    (
        906,
        "Michigan's Upper Peninsula: four counties keep Central time",
    ),
    (620, "south Kansas: Greeley and Hamilton keep Mountain time"),
    (785, "north Kansas: Sherman and Wallace keep Mountain time"),
    (308, "west Nebraska: the panhandle keeps Mountain time"),
    (605, "South Dakota: Central and Mountain"),
    (701, "North Dakota: Central and Mountain"),
    (432, "west Texas: Culberson County keeps Mountain time"),
    (541, "east Oregon: Malheur County keeps Mountain time"),
    (458, "east Oregon: Malheur County keeps Mountain time"),
    (775, "north Nevada: West Wendover keeps Mountain time"),
    (928, "north Arizona: the Navajo Nation keeps daylight time"),
    (
        907,
        "Alaska: the western Aleutians keep Hawaii–Aleutian time",
    ),
    (
        250,
        "British Columbia: the northeast and East Kootenay keep Mountain time",
    ),
    (
        236,
        "British Columbia: the northeast and East Kootenay keep Mountain time",
    ),
    (
        672,
        "British Columbia: the northeast and East Kootenay keep Mountain time",
    ),
    (
        778,
        "British Columbia: the northeast and East Kootenay keep Mountain time",
    ),
    (
        306,
        "Saskatchewan: Lloydminster and border towns keep other time",
    ),
    (
        639,
        "Saskatchewan: Lloydminster and border towns keep other time",
    ),
    (
        474,
        "Saskatchewan: Lloydminster and border towns keep other time",
    ),
    (807, "northwest Ontario: Central west of 90°W"),
    (
        418,
        "east Quebec: the Magdalen Islands and Lower North Shore keep Atlantic time",
    ),
    (
        581,
        "east Quebec: the Magdalen Islands and Lower North Shore keep Atlantic time",
    ),
    (
        367,
        "east Quebec: the Magdalen Islands and Lower North Shore keep Atlantic time",
    ),
    (709, "Newfoundland (UTC−3:30) and Labrador (Atlantic)"),
    (879, "Newfoundland (UTC−3:30) and Labrador (Atlantic)"),
    (867, "Yukon, Northwest Territories and Nunavut"),
];

/// E.164 prefixes of countries (or parts of them) in one zone. The longest matching prefix
/// wins; a `None` marks a part that is not in the country's main zone.
const PREFIXES: &[(&str, Option<&str>)] = &[
    ("+44", Some("Europe/London")),
    ("+353", Some("Europe/Dublin")),
    ("+972", Some("Asia/Jerusalem")),
    ("+64", Some("Pacific/Auckland")),
    ("+643305", None), // the Chatham Islands, 45 minutes ahead
    // Australia by area code: 2 NSW and ACT (less Lord Howe Island), 3 Victoria and Tasmania,
    // 7 Queensland (less 07 5, shared with NSW's Tweed Heads). 8 (SA, WA, NT, and NSW's Broken
    // Hill) and mobiles (4, 5) span several zones.
    ("+612", Some("Australia/Sydney")),
    ("+6126563", None),
    ("+613", Some("Australia/Melbourne")),
    ("+617", Some("Australia/Brisbane")),
    ("+6175", None), // the Gold Coast shares 07 5 with Tweed Heads, NSW, which keeps daylight time
    ("+49", Some("Europe/Berlin")),
    ("+33", Some("Europe/Paris")),
    ("+39", Some("Europe/Rome")),
    ("+31", Some("Europe/Amsterdam")),
    ("+32", Some("Europe/Brussels")),
    ("+41", Some("Europe/Zurich")),
    ("+43", Some("Europe/Vienna")),
    ("+45", Some("Europe/Copenhagen")),
    ("+46", Some("Europe/Stockholm")),
    ("+47", Some("Europe/Oslo")),
    ("+358", Some("Europe/Helsinki")),
    ("+48", Some("Europe/Warsaw")),
    ("+81", Some("Asia/Tokyo")),
    ("+91", Some("Asia/Kolkata")),
    ("+65", Some("Asia/Singapore")),
    ("+852", Some("Asia/Hong_Kong")),
    ("+27", Some("Africa/Johannesburg")),
];

static AREA_CODES: LazyLock<HashMap<u16, &'static str>> = LazyLock::new(|| {
    NANP.iter()
        .flat_map(|(zone, codes)| codes.iter().map(move |code| (*code, *zone)))
        .collect()
});

/// The IANA zone of an E.164 number, when the number alone tells it.
pub fn zone_of(e164: &str) -> Option<&'static str> {
    if let Some(rest) = e164.strip_prefix("+1") {
        let code = rest.get(..3)?.parse::<u16>().ok()?;
        return AREA_CODES.get(&code).copied();
    }
    PREFIXES
        .iter()
        .filter(|(prefix, _)| e164.starts_with(prefix))
        .max_by_key(|(prefix, _)| prefix.len())
        .and_then(|(_, zone)| *zone)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_zone_named_is_in_the_tz_database() {
        let zones = NANP
            .iter()
            .map(|(z, _)| *z)
            .chain(PREFIXES.iter().filter_map(|(_, z)| *z));
        for zone in zones {
            assert!(jiff::tz::db().get(zone).is_ok(), "{zone}");
        }
    }

    #[test]
    fn no_area_code_is_listed_twice_or_both_whole_and_split() {
        let mut seen = HashSet::new();
        for (zone, codes) in NANP {
            for code in *codes {
                assert!(
                    seen.insert(*code),
                    "{code} listed twice (again under {zone})"
                );
                assert!((200..1000).contains(code), "{code}");
            }
        }
        for (code, why) in NANP_SPLIT {
            assert!(!seen.contains(code), "{code} is split ({why}) but listed");
        }
        // Non-geographic codes never name a zone.
        for code in [500, 800, 833, 844, 855, 866, 877, 888, 900] {
            assert!(!seen.contains(&code), "{code}");
        }
    }

    #[test]
    fn north_american_numbers_by_area_code() {
        assert_eq!(zone_of("+12125550100"), Some("America/New_York"));
        assert_eq!(zone_of("+13125550100"), Some("America/Chicago"));
        assert_eq!(zone_of("+13035550100"), Some("America/Denver"));
        assert_eq!(zone_of("+16025550100"), Some("America/Phoenix"));
        assert_eq!(zone_of("+14155550100"), Some("America/Los_Angeles"));
        assert_eq!(zone_of("+18085550100"), Some("Pacific/Honolulu"));
        assert_eq!(zone_of("+14165550100"), Some("America/Toronto"));
        assert_eq!(zone_of("+16045550100"), Some("America/Vancouver"));
        assert_eq!(zone_of("+19155550100"), Some("America/Denver"), "El Paso");
    }

    #[test]
    fn split_and_non_geographic_area_codes_tell_nothing() {
        for number in [
            "+18505550100", // Florida panhandle
            "+19285550100", // northern Arizona
            "+16055550100", // South Dakota
            "+19075550100", // Alaska
            "+18005550100", // toll-free
            "+121",         // too short
        ] {
            assert_eq!(zone_of(number), None, "{number}");
        }
    }

    #[test]
    fn countries_with_one_zone_and_their_exceptions() {
        assert_eq!(zone_of("+442079460000"), Some("Europe/London"));
        assert_eq!(zone_of("+97225550000"), Some("Asia/Jerusalem"));
        assert_eq!(zone_of("+6495550000"), Some("Pacific/Auckland"));
        assert_eq!(zone_of("+6433051234"), None, "Chatham Islands");
        assert_eq!(zone_of("+61255550000"), Some("Australia/Sydney"));
        assert_eq!(zone_of("+61265631234"), None, "Lord Howe Island");
        assert_eq!(zone_of("+61733330000"), Some("Australia/Brisbane"));
        assert_eq!(zone_of("+61755550000"), None, "Gold Coast and Tweed Heads");
        assert_eq!(zone_of("+61855550000"), None, "SA, WA and NT");
        assert_eq!(zone_of("+61412345678"), None, "Australian mobile");
        assert_eq!(zone_of("+5511955550000"), None, "Brazil has several zones");
    }
}
