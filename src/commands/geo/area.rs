//! Which cells a search looks in: Redis' choice of a cell size from the radius, the cell of the
//! centre and its eight neighbours, with neighbours dropped that the search box cannot reach.

use super::hash::{self, Area, Cell, EARTH_RADIUS_M};

/// A search shape around a centre, in the unit given by `to_meters`.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub lon: f64,
    pub lat: f64,
    /// Meters per unit (1 for m, 1000 for km, ...).
    pub to_meters: f64,
    pub kind: Kind,
}

#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Radius(f64),
    Box { width: f64, height: f64 },
}

impl Shape {
    /// The bounding box: (min lon, min lat, max lon, max lat).
    fn bounds(&self) -> (f64, f64, f64, f64) {
        let (half_height, half_width) = match self.kind {
            Kind::Radius(r) => (r, r),
            Kind::Box { width, height } => (height / 2.0, width / 2.0),
        };
        let (height_m, width_m) = (half_height * self.to_meters, half_width * self.to_meters);
        let lat_delta = hash::rad_deg(height_m / EARTH_RADIUS_M);
        let lon_delta_at =
            |lat: f64| hash::rad_deg(width_m / EARTH_RADIUS_M / hash::deg_rad(lat).cos());
        let lon_delta = if self.lat < 0.0 {
            lon_delta_at(self.lat - lat_delta)
        } else {
            lon_delta_at(self.lat + lat_delta)
        };
        (
            self.lon - lon_delta,
            self.lat - lat_delta,
            self.lon + lon_delta,
            self.lat + lat_delta,
        )
    }

    /// The distance in meters that the cell size is chosen for.
    fn radius_m(&self) -> f64 {
        let r = match self.kind {
            Kind::Radius(r) => r,
            Kind::Box { width, height } => ((width / 2.0).powi(2) + (height / 2.0).powi(2)).sqrt(),
        };
        r * self.to_meters
    }

    /// The distance in meters of (lon, lat) from the centre if it lies inside the shape.
    pub fn distance_within(&self, lon: f64, lat: f64) -> Option<f64> {
        match self.kind {
            Kind::Radius(r) => {
                let d = hash::distance(self.lon, self.lat, lon, lat);
                (d <= r * self.to_meters).then_some(d)
            }
            Kind::Box { width, height } => hash::distance_in_box(
                width * self.to_meters,
                height * self.to_meters,
                (self.lon, self.lat),
                (lon, lat),
            ),
        }
    }
}

/// Half the earth's circumference in Web Mercator meters.
const MERCATOR_MAX: f64 = 20_037_726.37;

/// The cell precision for a search of `range_m` meters at latitude `lat`.
fn steps_for(mut range_m: f64, lat: f64) -> u8 {
    if range_m == 0.0 {
        return hash::STEP_MAX;
    }
    let mut step: i32 = 1;
    while range_m < MERCATOR_MAX {
        range_m *= 2.0;
        step += 1;
    }
    step -= 2;
    if lat.abs() > 66.0 {
        step -= 1;
        if lat.abs() > 80.0 {
            step -= 1;
        }
    }
    step.clamp(1, i32::from(hash::STEP_MAX)) as u8
}

/// The centre cell and its neighbours (north, south, east, west, north-east, north-west,
/// south-east, south-west), the zero cell where a neighbour is not needed.
pub fn cells_to_search(shape: &Shape) -> [Cell; 9] {
    let (min_lon, min_lat, max_lon, max_lat) = shape.bounds();
    let mut steps = steps_for(shape.radius_m(), shape.lat);
    let around = |steps: u8| {
        let centre = hash::encode_wgs84(shape.lon, shape.lat, steps).unwrap_or_default();
        let n = [
            centre,
            hash::moved(centre, 0, 1),
            hash::moved(centre, 0, -1),
            hash::moved(centre, 1, 0),
            hash::moved(centre, -1, 0),
            hash::moved(centre, 1, 1),
            hash::moved(centre, -1, 1),
            hash::moved(centre, 1, -1),
            hash::moved(centre, -1, -1),
        ];
        (n, hash::decode(centre).unwrap_or(EMPTY))
    };
    let (mut cells, mut area) = around(steps);
    // When the neighbours do not reach the whole box, cells twice as large are used.
    let reach = |c: Cell| hash::decode(c).unwrap_or(EMPTY);
    let too_small = reach(cells[1]).lat.max < max_lat
        || reach(cells[2]).lat.min > min_lat
        || reach(cells[3]).lon.max < max_lon
        || reach(cells[4]).lon.min > min_lon;
    if steps > 1 && too_small {
        steps -= 1;
        (cells, area) = around(steps);
    }
    if steps >= 2 {
        let mut drop = |which: [usize; 3]| which.iter().for_each(|&i| cells[i] = Cell::default());
        if area.lat.min < min_lat {
            drop([2, 8, 7]);
        }
        if area.lat.max > max_lat {
            drop([1, 5, 6]);
        }
        if area.lon.min < min_lon {
            drop([4, 8, 6]);
        }
        if area.lon.max > max_lon {
            drop([3, 7, 5]);
        }
    }
    cells
}

/// What Redis reads from a cell it could not decode: all zeroes.
const EMPTY: Area = Area {
    lon: hash::Range { min: 0.0, max: 0.0 },
    lat: hash::Range { min: 0.0, max: 0.0 },
};
