//! Redis' geohash: longitude and latitude each cut into 2^step cells, their cell numbers
//! interleaved (latitude in the even bits, longitude in the odd ones); at step 26 the 52 bits
//! are the sorted-set score. Also the neighbouring cells and the haversine distance.

pub const STEP_MAX: u8 = 26;
pub const LAT_MIN: f64 = -85.051_128_78;
pub const LAT_MAX: f64 = 85.051_128_78;
pub const LON_MIN: f64 = -180.0;
pub const LON_MAX: f64 = 180.0;
/// Earth's quadratic mean radius for WGS-84, in meters.
pub const EARTH_RADIUS_M: f64 = 6_372_797.560_856;

/// A cell: its interleaved bits at a precision of `step` bits per coordinate.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Cell {
    pub bits: u64,
    pub step: u8,
}

impl Cell {
    /// The zero cell stands for "no cell" among the neighbours.
    pub fn is_zero(self) -> bool {
        self.bits == 0 && self.step == 0
    }
    /// The bits shifted to 52, as the score range of the cell starts.
    pub fn align52(self) -> u64 {
        self.bits << (52 - u32::from(self.step) * 2)
    }
}

/// A coordinate range.
#[derive(Clone, Copy, Debug)]
pub struct Range {
    pub min: f64,
    pub max: f64,
}

pub const LON_RANGE: Range = Range {
    min: LON_MIN,
    max: LON_MAX,
};
pub const LAT_RANGE: Range = Range {
    min: LAT_MIN,
    max: LAT_MAX,
};

/// The box a cell covers.
#[derive(Clone, Copy, Debug)]
pub struct Area {
    pub lon: Range,
    pub lat: Range,
}

/// Spreads the 32 bits of `v` into the even bits of a u64.
fn spread(v: u32) -> u64 {
    let mut x = u64::from(v);
    for (shift, mask) in [
        (16, 0x0000_FFFF_0000_FFFF),
        (8, 0x00FF_00FF_00FF_00FF),
        (4, 0x0F0F_0F0F_0F0F_0F0F),
        (2, 0x3333_3333_3333_3333),
        (1, 0x5555_5555_5555_5555),
    ] {
        x = (x | (x << shift)) & mask;
    }
    x
}

/// Gathers the even bits of `v` into a u32.
fn squeeze(v: u64) -> u32 {
    let mut x = v & 0x5555_5555_5555_5555;
    for (shift, mask) in [
        (1, 0x3333_3333_3333_3333),
        (2, 0x0F0F_0F0F_0F0F_0F0F),
        (4, 0x00FF_00FF_00FF_00FF),
        (8, 0x0000_FFFF_0000_FFFF),
        (16, 0x0000_0000_FFFF_FFFF),
    ] {
        x = (x | (x >> shift)) & mask;
    }
    x as u32
}

/// The cell of a point within the given ranges, or `None` outside them (or outside Redis'
/// WGS-84 limits).
pub fn encode(lon_range: Range, lat_range: Range, lon: f64, lat: f64, step: u8) -> Option<Cell> {
    let outside_limits = !(LON_MIN..=LON_MAX).contains(&lon) || !(LAT_MIN..=LAT_MAX).contains(&lat);
    let outside = !(lat_range.min..=lat_range.max).contains(&lat)
        || !(lon_range.min..=lon_range.max).contains(&lon);
    if step == 0 || step > 32 || outside_limits || outside {
        return None;
    }
    let cells = (1u64 << step) as f64;
    let lat_offset = (lat - lat_range.min) / (lat_range.max - lat_range.min) * cells;
    let lon_offset = (lon - lon_range.min) / (lon_range.max - lon_range.min) * cells;
    Some(Cell {
        bits: spread(lat_offset as u32) | (spread(lon_offset as u32) << 1),
        step,
    })
}

/// The cell of a point at full precision in Redis' ranges.
pub fn encode_wgs84(lon: f64, lat: f64, step: u8) -> Option<Cell> {
    encode(LON_RANGE, LAT_RANGE, lon, lat, step)
}

/// The box a cell covers in Redis' ranges (`None` for the zero cell).
pub fn decode(cell: Cell) -> Option<Area> {
    if cell.is_zero() {
        return None;
    }
    let lat_cell = f64::from(squeeze(cell.bits));
    let lon_cell = f64::from(squeeze(cell.bits >> 1));
    let cells = (1u64 << cell.step) as f64;
    let span = |r: Range, c: f64| Range {
        min: r.min + (c / cells) * (r.max - r.min),
        max: r.min + ((c + 1.0) / cells) * (r.max - r.min),
    };
    Some(Area {
        lon: span(LON_RANGE, lon_cell),
        lat: span(LAT_RANGE, lat_cell),
    })
}

/// The point a sorted-set score stands for: the centre of its step-26 cell.
pub fn decode_score(score: f64) -> Option<(f64, f64)> {
    let area = decode(Cell {
        bits: score as u64,
        step: STEP_MAX,
    })?;
    let lon = ((area.lon.min + area.lon.max) / 2.0).clamp(LON_MIN, LON_MAX);
    let lat = ((area.lat.min + area.lat.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    Some((lon, lat))
}

/// The cell `dx` cells east and `dy` cells north (each -1, 0 or 1), wrapping around.
pub fn moved(cell: Cell, dx: i8, dy: i8) -> Cell {
    let width = 64 - u32::from(cell.step) * 2;
    let shift = |bits: u64, own: u64, d: i8| -> u64 {
        // `own` selects this coordinate's bits; the other coordinate's bits are filled in so a
        // carry or borrow runs straight through them.
        let other = !own;
        let filler = other >> width;
        let v = bits & own;
        let v = match d {
            0 => return v,
            1 => v.wrapping_add(filler + 1),
            _ => (v | filler).wrapping_sub(filler + 1),
        };
        v & (own >> width)
    };
    let lon = shift(cell.bits, 0xaaaa_aaaa_aaaa_aaaa, dx);
    let lat = shift(cell.bits, 0x5555_5555_5555_5555, dy);
    Cell {
        bits: lon | lat,
        step: cell.step,
    }
}

fn lat_distance(lat1: f64, lat2: f64) -> f64 {
    EARTH_RADIUS_M * (deg_rad(lat2) - deg_rad(lat1)).abs()
}

/// Redis' haversine distance in meters.
pub fn distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let v = ((deg_rad(lon2) - deg_rad(lon1)) / 2.0).sin();
    if v == 0.0 {
        return lat_distance(lat1, lat2);
    }
    let (lat1r, lat2r) = (deg_rad(lat1), deg_rad(lat2));
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS_M * a.sqrt().asin()
}

/// Degrees to radians as Redis computes it (times pi/180).
pub fn deg_rad(deg: f64) -> f64 {
    deg * (std::f64::consts::PI / 180.0)
}

/// Radians to degrees as Redis computes it (divided by pi/180).
pub fn rad_deg(rad: f64) -> f64 {
    rad / (std::f64::consts::PI / 180.0)
}

/// Whether (lon2, lat2) lies in the `width_m` x `height_m` box centred on (lon1, lat1), and
/// its distance from the centre if so.
pub fn distance_in_box(
    width_m: f64,
    height_m: f64,
    (lon1, lat1): (f64, f64),
    (lon2, lat2): (f64, f64),
) -> Option<f64> {
    if lat_distance(lat2, lat1) > height_m / 2.0 || distance(lon2, lat2, lon1, lat2) > width_m / 2.0
    {
        return None;
    }
    Some(distance(lon1, lat1, lon2, lat2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_match_redis_for_known_places() {
        // From Redis' own test: GEOADD nyc -73.9454966 40.747533 "lic market".
        let cell = encode_wgs84(-73.9454966, 40.747533, STEP_MAX).unwrap();
        assert_eq!(cell.align52(), 1791875804419201);
        let (lon, lat) = decode_score(1791875804419201.0).unwrap();
        assert!((lon + 73.9454966).abs() < 1e-5 && (lat - 40.747533).abs() < 1e-5);
    }

    #[test]
    fn neighbours_are_one_cell_away() {
        let c = encode_wgs84(13.36, 38.11, 10).unwrap();
        let east = decode(moved(c, 1, 0)).unwrap();
        let here = decode(c).unwrap();
        assert_eq!(east.lon.min, here.lon.max);
        let south = decode(moved(c, 0, -1)).unwrap();
        assert_eq!(south.lat.max, here.lat.min);
    }
}
