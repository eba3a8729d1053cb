//! CSV files as events, for training and for streaming.
//!
//! A column mapping names, per CSV header, the schema field it fills; a header that equals a field
//! name fills that field without a mapping, and any other header is ignored. Cells are converted
//! per field type; a row that cannot be converted is not fatal but comes back as a [`Rejected`]
//! row (with a typed [`Invalid`] reason) for the dead-letter stream. Data row `n` (counting from
//! 0, rejected rows included) becomes event `id = n` with `ts_ms = EPOCH_MS + n`, so a worker's
//! share (`n % workers == w`) is stable. Only conversion happens here: required fields, NaN and
//! ±inf, whole numbers, ranges and categories are `data::validate`'s job, for every source.

use super::generator::ts_ms;
use super::invalid::{Excerpt, Invalid, InvalidReason};
use super::validate::{parse_bool, type_name};
use super::{Event, Value};
use crate::program::{FieldType, Schema};
use csv::{ByteRecord, ReaderBuilder, WriterBuilder};
use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// A fatal problem: the file cannot be read, or its columns cannot fill the schema.
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    /// The file cannot be opened or read (I/O, or a header that is not UTF-8).
    #[error("cannot read {origin}: {source}")]
    Read {
        origin: String,
        #[source]
        source: csv::Error,
    },
    /// The delimiter is not a single-byte (ASCII) character.
    #[error("the CSV delimiter must be an ASCII character, not {0:?}")]
    Delimiter(char),
    /// The mapping sends a column to a field the schema does not declare.
    #[error("column `{column}` is mapped to `{field}`, which schema `{schema}` does not declare")]
    UnknownField { schema: String, column: String, field: String },
    /// Two columns fill the same field.
    #[error("columns `{first}` and `{second}` both fill field `{field}`")]
    DuplicateField { field: String, first: String, second: String },
    /// The mapping names a column the file does not have.
    #[error("column `{column}` (mapped to `{field}`) is not in {origin}; its headers are: {}", .headers.join(", "))]
    MissingColumn { origin: String, column: String, field: String, headers: Vec<String> },
    /// A required (non-optional) field has no column.
    #[error("{origin} has no column for required field `{field}`; its headers are: {}", .headers.join(", "))]
    MissingField { origin: String, field: String, headers: Vec<String> },
}

/// A data row that could not become an event.
#[derive(Clone, Debug, PartialEq)]
pub struct Rejected {
    /// Data row number from 0, the id the event would have had.
    pub row: u64,
    /// 1-based line of the file where the row starts (the header is line 1).
    pub line: u64,
    /// Why, with the field whose cell failed (none when the row as a whole is malformed).
    pub invalid: Invalid,
    /// The row re-encoded as CSV with the file's delimiter.
    pub raw: String,
}

impl std::fmt::Display for Rejected {
    /// `line 5, field `score`: expected a number (f64), found "abc"`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}, {}", self.line, self.invalid)
    }
}

/// One data row, parsed.
#[derive(Clone, Debug, PartialEq)]
pub enum Row {
    /// A valid row.
    Event(Event),
    /// A row for the dead-letter stream.
    Rejected(Rejected),
}

/// A whole file read: its valid events and its rejected rows, both in row order.
#[derive(Clone, Debug, Default)]
pub struct CsvData {
    /// The file's headers, in file order.
    pub headers: Vec<String>,
    /// The valid rows as events.
    pub events: Vec<Event>,
    /// The rows that failed to parse.
    pub rejected: Vec<Rejected>,
}

impl CsvData {
    /// The number of data rows read, valid or not.
    pub fn rows(&self) -> usize {
        self.events.len() + self.rejected.len()
    }

    /// The rows of worker `worker` of `workers`: those with `row % workers == worker`.
    pub fn share(&self, workers: u64, worker: u64) -> CsvData {
        let workers = workers.max(1);
        CsvData {
            headers: self.headers.clone(),
            events: self.events.iter().filter(|e| e.id % workers == worker).cloned().collect(),
            rejected: self.rejected.iter().filter(|r| r.row % workers == worker).cloned().collect(),
        }
    }
}

/// Reads a whole CSV file; `columns` maps CSV header → schema field.
pub fn read_csv(
    path: &Path,
    schema: &Schema,
    columns: &[(String, String)],
    delimiter: char,
) -> Result<CsvData, CsvError> {
    let mut reader = CsvReader::open(path, schema, columns, delimiter)?;
    let mut data = CsvData { headers: reader.headers().to_vec(), ..CsvData::default() };
    while let Some(row) = reader.next_row()? {
        match row {
            Row::Event(e) => data.events.push(e),
            Row::Rejected(r) => data.rejected.push(r),
        }
    }
    Ok(data)
}

/// A streaming CSV reader yielding one [`Row`] per data row (of its share, when set).
pub struct CsvReader<R: Read> {
    reader: csv::Reader<R>,
    layout: Layout,
    origin: String,
    delimiter: u8,
    record: ByteRecord,
    next_row: u64,
    workers: u64,
    worker: u64,
    failed: bool,
}

impl CsvReader<File> {
    /// Opens `path` and resolves its headers against `schema` and `columns`.
    pub fn open(path: &Path, schema: &Schema, columns: &[(String, String)], delimiter: char) -> Result<Self, CsvError> {
        let origin = path.display().to_string();
        let byte = delimiter_byte(delimiter)?;
        let reader =
            builder(byte).from_path(path).map_err(|source| CsvError::Read { origin: origin.clone(), source })?;
        Self::with_reader(reader, origin, schema, columns, byte)
    }
}

impl<R: Read> CsvReader<R> {
    /// Reads CSV text from `input`; `origin` names it in errors.
    pub fn from_reader(
        input: R,
        origin: &str,
        schema: &Schema,
        columns: &[(String, String)],
        delimiter: char,
    ) -> Result<Self, CsvError> {
        let byte = delimiter_byte(delimiter)?;
        Self::with_reader(builder(byte).from_reader(input), origin.to_string(), schema, columns, byte)
    }

    fn with_reader(
        mut reader: csv::Reader<R>,
        origin: String,
        schema: &Schema,
        columns: &[(String, String)],
        delimiter: u8,
    ) -> Result<Self, CsvError> {
        let headers = reader.headers().map_err(|source| CsvError::Read { origin: origin.clone(), source })?;
        let headers: Vec<String> = headers.iter().map(|h| h.trim().to_string()).collect();
        let layout = Layout::new(headers, schema, columns, &origin)?;
        let record = ByteRecord::new();
        Ok(CsvReader { reader, layout, origin, delimiter, record, next_row: 0, workers: 1, worker: 0, failed: false })
    }

    /// The file's headers, in file order.
    pub fn headers(&self) -> &[String] {
        &self.layout.headers
    }

    /// Keeps only rows with `row % workers == worker`; the others are read but not parsed.
    pub fn share(mut self, workers: u64, worker: u64) -> Self {
        self.workers = workers.max(1);
        self.worker = worker;
        self
    }

    /// The next row of this reader's share; `Ok(None)` at the end of the file.
    pub fn next_row(&mut self) -> Result<Option<Row>, CsvError> {
        loop {
            let more = self.reader.read_byte_record(&mut self.record).map_err(|source| {
                self.failed = true;
                CsvError::Read { origin: self.origin.clone(), source }
            })?;
            if !more {
                return Ok(None);
            }
            let row = self.next_row;
            self.next_row += 1;
            if row % self.workers == self.worker {
                return Ok(Some(self.parse(row)));
            }
        }
    }

    fn parse(&self, row: u64) -> Row {
        match self.layout.values(&self.record) {
            Ok(values) => Row::Event(Event { id: row, seq: row, ts_ms: ts_ms(row), values }),
            Err(invalid) => Row::Rejected(Rejected {
                row,
                line: self.record.position().map_or(0, |p| p.line()),
                invalid,
                raw: reencode(&self.record, self.delimiter),
            }),
        }
    }
}

impl<R: Read> Iterator for CsvReader<R> {
    type Item = Result<Row, CsvError>;

    /// Stops after the first read error.
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        self.next_row().transpose()
    }
}

fn delimiter_byte(delimiter: char) -> Result<u8, CsvError> {
    u8::try_from(delimiter).ok().filter(u8::is_ascii).ok_or(CsvError::Delimiter(delimiter))
}

fn builder(delimiter: u8) -> ReaderBuilder {
    let mut builder = ReaderBuilder::new();
    // Flexible, so a ragged row becomes one rejected row instead of ending the read.
    builder.delimiter(delimiter).has_headers(true).flexible(true);
    builder
}

/// A row's cells written back as one CSV record, for dead letters.
fn reencode(record: &ByteRecord, delimiter: u8) -> String {
    let mut writer = WriterBuilder::new().delimiter(delimiter).flexible(true).from_writer(Vec::new());
    let bytes = match writer.write_byte_record(record).and_then(|()| writer.flush().map_err(csv::Error::from)) {
        Ok(()) => writer.into_inner().unwrap_or_default(),
        Err(_) => record.iter().collect::<Vec<_>>().join(&delimiter),
    };
    String::from_utf8_lossy(&bytes).trim_end_matches(['\r', '\n']).to_string()
}

/// A schema field as the reader needs it.
#[derive(Clone, Debug)]
struct Target {
    name: String,
    ty: FieldType,
}

/// Which schema field each CSV column fills.
#[derive(Clone, Debug)]
struct Layout {
    headers: Vec<String>,
    targets: Vec<Target>,
    /// Per CSV column, the index of the schema field it fills.
    column_field: Vec<Option<usize>>,
}

impl Layout {
    fn new(
        headers: Vec<String>,
        schema: &Schema,
        columns: &[(String, String)],
        origin: &str,
    ) -> Result<Layout, CsvError> {
        let mapped = explicit_mapping(&headers, schema, columns, origin)?;
        let mut filled = vec![false; schema.fields.len()];
        let mut column_field = Vec::with_capacity(headers.len());
        for header in &headers {
            let field = match mapped.get(header.as_str()) {
                Some(&f) => Some(f),
                None => schema.index_of(header).filter(|f| !mapped.values().any(|m| m == f)),
            };
            // A repeated header fills its field once, from its first column.
            column_field.push(field.filter(|&f| !std::mem::replace(&mut filled[f], true)));
        }
        let unfilled = schema.fields.iter().zip(&filled).find(|(f, done)| !f.optional && !**done);
        if let Some((field, _)) = unfilled {
            return Err(CsvError::MissingField { origin: origin.into(), field: field.name.clone(), headers });
        }
        let targets = schema.fields.iter().map(|f| Target { name: f.name.clone(), ty: f.ty.clone() });
        Ok(Layout { headers, targets: targets.collect(), column_field })
    }

    /// The event values of one record, or the failing field (if any) and why.
    fn values(&self, record: &ByteRecord) -> Result<Vec<Value>, Invalid> {
        if record.len() != self.headers.len() {
            let message = format!("the row has {} cells, the header {}", record.len(), self.headers.len());
            return Err(Invalid::malformed(message));
        }
        let mut values = vec![Value::Missing; self.targets.len()];
        for (cell, field) in record.iter().zip(&self.column_field) {
            let Some(f) = *field else { continue };
            let target = &self.targets[f];
            let text = std::str::from_utf8(cell).map_err(|_| {
                Invalid::field(&target.name, InvalidReason::Malformed { message: "the cell is not valid UTF-8".into() })
            })?;
            values[f] = convert_cell(text, &target.ty).map_err(|reason| Invalid::field(&target.name, reason))?;
        }
        Ok(values)
    }
}

/// Header → field index for the explicit mapping, every name checked.
fn explicit_mapping<'a>(
    headers: &[String],
    schema: &Schema,
    columns: &'a [(String, String)],
    origin: &str,
) -> Result<HashMap<&'a str, usize>, CsvError> {
    let mut mapped = HashMap::new();
    let mut filled_by: HashMap<usize, &str> = HashMap::new();
    for (column, field) in columns {
        let Some(index) = schema.index_of(field) else {
            let (schema, column, field) = (schema.name.clone(), column.clone(), field.clone());
            return Err(CsvError::UnknownField { schema, column, field });
        };
        if !headers.iter().any(|h| h == column.trim()) {
            let (origin, column, field, headers) = (origin.into(), column.clone(), field.clone(), headers.to_vec());
            return Err(CsvError::MissingColumn { origin, column, field, headers });
        }
        if let Some(first) = filled_by.insert(index, column.trim()) {
            let (field, first, second) = (field.clone(), first.to_string(), column.clone());
            return Err(CsvError::DuplicateField { field, first, second });
        }
        mapped.insert(column.trim(), index);
    }
    Ok(mapped)
}

/// One cell as the field's type; an empty cell is missing. Text that is no value of the type
/// (`abc` for a number, `maybe` for a bool) is a wrong type; whether the value is allowed is
/// the validator's question.
fn convert_cell(text: &str, ty: &FieldType) -> Result<Value, InvalidReason> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Ok(Value::Missing);
    }
    let wrong = || InvalidReason::WrongType { expected: type_name(ty), found: format!("{:?}", Excerpt(trimmed)) };
    match ty {
        // `NaN` and `inf` parse, and the validator rejects them as not finite.
        FieldType::F64 | FieldType::I64 => trimmed.parse::<f64>().map(Value::Num).map_err(|_| wrong()),
        FieldType::Bool => parse_bool(trimmed).map(Value::Bool).ok_or_else(wrong),
        FieldType::Category(_) => Ok(Value::Text(trimmed.to_string())),
        FieldType::Str => Ok(Value::Text(text.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::generator::EPOCH_MS;
    use crate::program::{Field, Program, SourceKind};
    use std::path::PathBuf;

    fn field(name: &str, ty: FieldType, optional: bool) -> Field {
        Field { name: name.into(), ty, optional, range: None }
    }

    fn schema() -> Schema {
        let kind = FieldType::Category(vec!["a".into(), "b".into()]);
        let fields = vec![
            field("score", FieldType::F64, false),
            field("count", FieldType::I64, false),
            field("flag", FieldType::Bool, false),
            field("kind", kind, false),
            field("address", FieldType::Str, true),
            field("extra", FieldType::F64, true),
        ];
        Schema { name: "t".into(), fields }
    }

    fn mapping(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(c, f)| (c.to_string(), f.to_string())).collect()
    }

    /// Writes `text` to a file of its own under the system temp directory (tests run in parallel).
    fn temp_file(name: &str, text: &str) -> PathBuf {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("housing-flow-csv-{}-{n}-{name}.csv", std::process::id()));
        std::fs::write(&path, text).unwrap();
        path
    }

    // Line 1 is the header; row 0 spans lines 2–3 (a quoted newline), so row n starts on line n + 3.
    const INLINE: &str = "Score Value,count,flag,kind,address,unused\n\
        1.5,3,yes,a,\"12 Main St\nAustin, TX 78701\",x\n\
        2,4,NO,b,,y\n\
        abc,1,true,a,z,z\n\
        2.5,3.5,1,a,,\n\
        3,2,maybe,a,,\n\
        3,2,0,c,,\n\
        ,2,0,a,,\n\
        4,5e0,False,b,\"quoted, with comma\",w\n\
        1,2,3\n\
        7,-8,TRUE,a, kept as is ,\n";

    fn read_inline() -> CsvData {
        let path = temp_file("inline", INLINE);
        let data = read_csv(&path, &schema(), &mapping(&[("Score Value", "score")]), ',');
        std::fs::remove_file(&path).unwrap();
        data.unwrap()
    }

    #[test]
    fn valid_rows_become_events_in_schema_order() {
        let data = read_inline();
        assert_eq!(data.rows(), 10);
        // Rows 3 (3.5 for a count), 5 (an undeclared kind) and 6 (no score) convert; the
        // validator rejects them, as it does for every source.
        let ids: Vec<u64> = data.events.iter().map(|e| e.id).collect();
        assert_eq!(ids, [0, 1, 3, 5, 6, 7, 9]);
        let rejected_later: Vec<u64> = data
            .events
            .iter()
            .filter(|e| crate::data::validate::validate(&schema(), e).is_err())
            .map(|e| e.id)
            .collect();
        assert_eq!(rejected_later, [3, 5, 6]);
        let data = CsvData { events: data.events.into_iter().filter(|e| ![3, 5, 6].contains(&e.id)).collect(), ..data };
        let first = &data.events[0];
        assert_eq!(first.ts_ms, EPOCH_MS);
        let address = Value::Text("12 Main St\nAustin, TX 78701".into());
        let want =
            [Value::Num(1.5), Value::Num(3.0), Value::Bool(true), Value::Text("a".into()), address, Value::Missing];
        assert_eq!(first.values, want);
        assert_eq!(data.events[1].values[2], Value::Bool(false));
        assert_eq!(data.events[1].values[4], Value::Missing);
        assert_eq!(data.events[2].ts_ms, EPOCH_MS + 7);
        assert_eq!(data.events[2].values[1], Value::Num(5.0));
        assert_eq!(data.events[2].values[4], Value::Text("quoted, with comma".into()));
        assert_eq!(data.events[3].values[1..3], [Value::Num(-8.0), Value::Bool(true)]);
        assert_eq!(data.events[3].values[4], Value::Text(" kept as is ".into()));
    }

    #[test]
    fn rows_that_cannot_be_converted_are_rejected_with_line_field_and_reason() {
        let data = read_inline();
        let got: Vec<(u64, u64, Option<&str>, &str)> = data
            .rejected
            .iter()
            .map(|r| (r.row, r.line, r.invalid.field.as_deref(), r.invalid.reason.kind()))
            .collect();
        let want =
            [(2, 5, Some("score"), "wrong_type"), (4, 7, Some("flag"), "wrong_type"), (8, 11, None, "malformed")];
        assert_eq!(got, want);
        assert_eq!(
            data.rejected[0].invalid.reason,
            InvalidReason::WrongType { expected: "a number (f64)", found: "\"abc\"".into() }
        );
        assert_eq!(data.rejected[0].raw, "abc,1,true,a,z,z");
        assert_eq!(data.rejected[0].to_string(), "line 5, field `score`: expected a number (f64), found \"abc\"");
        assert_eq!(data.rejected[2].to_string(), "line 11, malformed input: the row has 3 cells, the header 6");
    }

    #[test]
    fn a_required_field_without_a_column_is_fatal_and_lists_the_headers() {
        let path = temp_file("no-score", "count,flag,kind\n1,yes,a\n");
        let err = read_csv(&path, &schema(), &[], ',').unwrap_err();
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(&err, CsvError::MissingField { field, .. } if field == "score"), "{err:?}");
        assert!(err.to_string().contains("required field `score`; its headers are: count, flag, kind"), "{err}");
    }

    #[test]
    fn bad_mappings_are_fatal() {
        let text = "s,count,flag,kind\n1,2,yes,a\n";
        let open =
            |pairs: &[(&str, &str)]| CsvReader::from_reader(text.as_bytes(), "inline", &schema(), &mapping(pairs), ',');
        assert!(matches!(open(&[("s", "nope")]), Err(CsvError::UnknownField { .. })));
        assert!(matches!(open(&[("S", "score")]), Err(CsvError::MissingColumn { .. })));
        assert!(matches!(open(&[("s", "score"), ("count", "score")]), Err(CsvError::DuplicateField { .. })));
        assert!(open(&[("s", "score")]).is_ok());
        let err = CsvReader::from_reader(text.as_bytes(), "inline", &schema(), &[], 'é').err().unwrap();
        assert!(matches!(err, CsvError::Delimiter('é')));
    }

    #[test]
    fn other_delimiters_and_reader_shares() {
        let text = "score;count;flag;kind\n1;1;yes;a\n2;2;no;b\nx;3;no;b\n4;4;1;a\n5;5;0;b\n";
        let all: Vec<Row> = CsvReader::from_reader(text.as_bytes(), "inline", &schema(), &[], ';')
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(all.len(), 5);
        assert!(matches!(&all[2], Row::Rejected(r) if r.raw == "x;3;no;b"));
        for worker in 0..2 {
            let reader = CsvReader::from_reader(text.as_bytes(), "inline", &schema(), &[], ';').unwrap();
            let share: Vec<Row> = reader.share(2, worker).map(Result::unwrap).collect();
            let want: Vec<Row> = all.iter().skip(worker as usize).step_by(2).cloned().collect();
            assert_eq!(share, want);
        }
    }

    #[test]
    fn data_shares_deal_rows_by_row_number() {
        let data = read_inline();
        let shares: Vec<CsvData> = (0..3).map(|w| data.share(3, w)).collect();
        assert_eq!(shares.iter().map(CsvData::rows).sum::<usize>(), data.rows());
        assert!(shares[1].events.iter().all(|e| e.id % 3 == 1) && shares[1].rejected.iter().all(|r| r.row % 3 == 1));
    }

    /// A shipped pipeline's program and one of its CSV sources.
    struct Shipped {
        program: Program,
        path: PathBuf,
        columns: Vec<(String, String)>,
        delimiter: char,
    }

    /// `None` (with a message) when the source's data file is absent.
    fn shipped_csv(pipeline: &str, source: &str) -> Option<Shipped> {
        let checked = crate::check::check_file(Path::new(pipeline)).unwrap();
        let program = checked.program.unwrap_or_else(|| panic!("{pipeline} checks"));
        let SourceKind::Csv { path, columns, delimiter, .. } = program.source(source).unwrap().kind.clone() else {
            panic!("{source} is a CSV source")
        };
        if !Path::new(&path).exists() {
            println!("skipped: {path} is absent");
            return None;
        }
        Some(Shipped { program, path: PathBuf::from(path), columns, delimiter })
    }

    #[test]
    fn usa_housing_csv_reads_5000_valid_rows_when_present() {
        let Some(Shipped { program, path, columns, delimiter }) = shipped_csv("pipelines/usa_housing_csv.hf", "usa")
        else {
            return;
        };
        let schema = program.schema("housing").unwrap();
        let data = read_csv(&path, schema, &columns, delimiter).unwrap();
        assert_eq!((data.events.len(), data.rejected.len()), (5_000, 0));
        let first = &data.events[0];
        assert_eq!(first.values[0], Value::Num(79_545.458_574_316_78));
        assert_eq!(first.values[3], Value::Num(4.09));
        assert_eq!(first.values[5], Value::Text("208 Michael Ferry Apt. 674\nLaurabury, NE 37010-5101".into()));
        assert!(data.events.iter().all(|e| e.values.iter().all(|v| !v.is_missing())));
        assert_eq!(data.events[4_999].id, 4_999);
    }

    #[test]
    fn kaggle_housing_csv_reads_545_valid_rows_when_present() {
        let Some(Shipped { program, path, columns, delimiter }) = shipped_csv("pipelines/kaggle_housing.hf", "kaggle")
        else {
            return;
        };
        let schema = program.schema("kaggle_house").unwrap();
        let data = read_csv(&path, schema, &columns, delimiter).unwrap();
        assert_eq!((data.events.len(), data.rejected.len()), (545, 0));
        let first = &data.events[0].values;
        assert_eq!(first[..3], [Value::Num(13_300_000.0), Value::Num(7_420.0), Value::Num(4.0)]);
        assert_eq!(first[5], Value::Bool(true));
        assert_eq!(first[12], Value::Text("furnished".into()));
        let semi = data.events.iter().filter(|e| e.values[12] == Value::Text("semi-furnished".into())).count();
        assert_eq!(semi, 227);
    }

    /// A file that fails after `good` bytes, as a disk or a network mount can.
    struct FailsAfter {
        data: Vec<u8>,
        at: usize,
        good: usize,
    }

    impl std::io::Read for FailsAfter {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.at >= self.good {
                return Err(std::io::Error::other("the disk went away"));
            }
            let n = buf.len().min(self.good - self.at).min(7);
            buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    #[test]
    fn a_read_error_mid_file_keeps_the_rows_before_it_and_names_the_file() {
        let mut text = String::from("score,count,flag,kind\n");
        for i in 0..50 {
            text.push_str(&format!("{i},{i},yes,a\n"));
        }
        let good = text.find("30,30").unwrap();
        let input = FailsAfter { data: text.into_bytes(), at: 0, good };
        let mut reader = CsvReader::from_reader(input, "houses.csv", &schema(), &[], ',').unwrap();
        let mut rows = 0;
        let error = loop {
            match reader.next_row() {
                Ok(Some(Row::Event(_))) => rows += 1,
                Ok(other) => panic!("unexpected {other:?}"),
                Err(e) => break e.to_string(),
            }
        };
        assert_eq!(rows, 30, "every row before the failure is read");
        assert!(error.contains("houses.csv") && error.contains("the disk went away"), "{error}");
        assert!(reader.next().is_none(), "the reader stops after the error");
    }
}
