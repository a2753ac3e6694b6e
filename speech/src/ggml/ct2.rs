//! Reader for CTranslate2's `model.bin` (binary versions 2–6): named tensors plus aliases.
//! Only what the converter needs: tensors stay as byte ranges of the file buffer and are
//! widened to f32 on demand.

use std::collections::BTreeMap;

use half::{bf16, f16};

use super::ConvertError;

/// Element type of a CT2 variable (CT2's `DataType` enum ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ct2DType {
    F32,
    I8,
    I16,
    I32,
    F16,
    Bf16,
}

impl Ct2DType {
    fn from_id(id: u8) -> Result<Self, ConvertError> {
        Ok(match id {
            0 => Self::F32,
            1 => Self::I8,
            2 => Self::I16,
            3 => Self::I32,
            4 => Self::F16,
            5 => Self::Bf16,
            other => {
                return Err(ConvertError::Format(format!(
                    "unsupported CT2 dtype id {other}"
                )));
            }
        })
    }

    fn from_item_size(size: u8) -> Result<Self, ConvertError> {
        Ok(match size {
            4 => Self::F32,
            2 => Self::F16,
            1 => Self::I8,
            other => {
                return Err(ConvertError::Format(format!(
                    "unsupported CT2 item size {other}"
                )));
            }
        })
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Self::I8 => 1,
            Self::I16 | Self::F16 | Self::Bf16 => 2,
            Self::F32 | Self::I32 => 4,
        }
    }
}

/// One named CT2 variable: shape, element type and raw little-endian bytes.
#[derive(Debug, Clone)]
pub struct Ct2Tensor {
    pub shape: Vec<usize>,
    pub dtype: Ct2DType,
    pub data: Vec<u8>,
}

impl Ct2Tensor {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// True for a tensor with no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values widened to f32 (integers are converted as numbers, not rescaled).
    pub fn to_f32(&self) -> Vec<f32> {
        let b = &self.data;
        match self.dtype {
            Ct2DType::F32 => b
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            Ct2DType::F16 => b
                .chunks_exact(2)
                .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            Ct2DType::Bf16 => b
                .chunks_exact(2)
                .map(|c| bf16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            Ct2DType::I8 => b.iter().map(|&v| v as i8 as f32).collect(),
            Ct2DType::I16 => b
                .chunks_exact(2)
                .map(|c| i16::from_le_bytes([c[0], c[1]]) as f32)
                .collect(),
            Ct2DType::I32 => b
                .chunks_exact(4)
                .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f32)
                .collect(),
        }
    }
}

/// A parsed CT2 model: spec name, variables by name, aliases (alias → target name).
#[derive(Debug, Default)]
pub struct Ct2Model {
    pub binary_version: u32,
    pub spec: String,
    pub variables: BTreeMap<String, Ct2Tensor>,
    pub aliases: BTreeMap<String, String>,
}

impl Ct2Model {
    /// Parses a whole `model.bin` held in memory.
    pub fn parse(bytes: &[u8]) -> Result<Self, ConvertError> {
        let mut r = Cursor { bytes, pos: 0 };
        let binary_version = r.u32()?;
        if !(1..=6).contains(&binary_version) {
            return Err(ConvertError::Format(format!(
                "unsupported CT2 binary version {binary_version} (expected 1..=6)"
            )));
        }
        let mut spec = String::new();
        if binary_version >= 2 {
            spec = r.string()?;
            let _revision = r.u32()?;
        }
        let n = r.u32()? as usize;
        let mut variables = BTreeMap::new();
        for _ in 0..n {
            let name = r.string()?;
            let rank = r.u8()? as usize;
            let mut shape = Vec::with_capacity(rank);
            for _ in 0..rank {
                shape.push(r.u32()? as usize);
            }
            let (dtype, nbytes) = if binary_version >= 4 {
                let dtype = Ct2DType::from_id(r.u8()?)?;
                (dtype, r.u32()? as usize)
            } else {
                let dtype = Ct2DType::from_item_size(r.u8()?)?;
                (dtype, r.u32()? as usize * dtype.size())
            };
            let count: usize = shape.iter().product();
            if count * dtype.size() != nbytes {
                return Err(ConvertError::Format(format!(
                    "variable {name}: shape {shape:?} does not match {nbytes} bytes"
                )));
            }
            let data = r.take(nbytes)?.to_vec();
            variables.insert(name, Ct2Tensor { shape, dtype, data });
        }
        let mut aliases = BTreeMap::new();
        if binary_version >= 3 {
            let n = r.u32()? as usize;
            for _ in 0..n {
                let alias = r.string()?;
                let target = r.string()?;
                aliases.insert(alias, target);
            }
        }
        Ok(Self {
            binary_version,
            spec,
            variables,
            aliases,
        })
    }

    /// A variable by name, following aliases.
    pub fn get(&self, name: &str) -> Result<&Ct2Tensor, ConvertError> {
        let target = self.aliases.get(name).map(String::as_str).unwrap_or(name);
        self.variables
            .get(target)
            .ok_or_else(|| ConvertError::Format(format!("CT2 model has no variable {name}")))
    }

    /// True when the model (or an alias) has this variable.
    pub fn has(&self, name: &str) -> bool {
        self.variables.contains_key(name) || self.aliases.contains_key(name)
    }

    /// Weight values as f32, dequantising int8 weights with their `weight_scale` sibling
    /// (CT2 stores one scale per output row: `w = q / scale`).
    pub fn weight_f32(&self, name: &str) -> Result<Vec<f32>, ConvertError> {
        let t = self.get(name)?;
        let mut v = t.to_f32();
        if t.dtype == Ct2DType::I8 || t.dtype == Ct2DType::I16 {
            let scale_name = name
                .strip_suffix("weight")
                .map(|p| format!("{p}weight_scale"));
            let scale = match scale_name {
                Some(s) if self.has(&s) => self.get(&s)?.to_f32(),
                _ => {
                    return Err(ConvertError::Format(format!(
                        "quantised {name} has no weight_scale"
                    )));
                }
            };
            let rows = t.shape.first().copied().unwrap_or(1).max(1);
            let cols = v.len() / rows;
            for (r, row) in v.chunks_mut(cols).enumerate() {
                let s = if scale.len() == 1 { scale[0] } else { scale[r] };
                row.iter_mut().for_each(|x| *x /= s);
            }
        }
        Ok(v)
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ConvertError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| {
                ConvertError::Format(format!(
                    "CT2 model.bin truncated at byte {} (wanted {n} more)",
                    self.pos
                ))
            })?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, ConvertError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, ConvertError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, ConvertError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    /// CT2 strings: u16 length (including the trailing NUL) then the bytes.
    fn string(&mut self) -> Result<String, ConvertError> {
        let n = self.u16()? as usize;
        let b = self.take(n)?;
        let b = b.strip_suffix(&[0]).unwrap_or(b);
        String::from_utf8(b.to_vec())
            .map_err(|_| ConvertError::Format("CT2 name is not UTF-8".into()))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a version-6 model.bin in memory (for the converter's unit tests).
    pub(crate) fn build(
        vars: &[(&str, Vec<usize>, Ct2DType, Vec<u8>)],
        aliases: &[(&str, &str)],
    ) -> Vec<u8> {
        fn s(out: &mut Vec<u8>, v: &str) {
            out.extend_from_slice(&((v.len() + 1) as u16).to_le_bytes());
            out.extend_from_slice(v.as_bytes());
            out.push(0);
        }
        let mut out = Vec::new();
        out.extend_from_slice(&6u32.to_le_bytes());
        s(&mut out, "WhisperSpec");
        out.extend_from_slice(&3u32.to_le_bytes());
        out.extend_from_slice(&(vars.len() as u32).to_le_bytes());
        for (name, shape, dtype, data) in vars {
            s(&mut out, name);
            out.push(shape.len() as u8);
            for d in shape {
                out.extend_from_slice(&(*d as u32).to_le_bytes());
            }
            let id = match dtype {
                Ct2DType::F32 => 0u8,
                Ct2DType::I8 => 1,
                Ct2DType::I16 => 2,
                Ct2DType::I32 => 3,
                Ct2DType::F16 => 4,
                Ct2DType::Bf16 => 5,
            };
            out.push(id);
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(data);
        }
        out.extend_from_slice(&(aliases.len() as u32).to_le_bytes());
        for (a, t) in aliases {
            s(&mut out, a);
            s(&mut out, t);
        }
        out
    }

    pub(crate) fn f32_bytes(v: &[f32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    #[test]
    fn parses_variables_and_aliases() {
        let f16s: Vec<u8> = [1.5f32, -2.0]
            .iter()
            .flat_map(|x| f16::from_f32(*x).to_le_bytes())
            .collect();
        let bin = build(
            &[
                (
                    "a/weight",
                    vec![2, 2],
                    Ct2DType::F32,
                    f32_bytes(&[1.0, 2.0, 3.0, 4.0]),
                ),
                ("b/bias", vec![2], Ct2DType::F16, f16s),
            ],
            &[("c/weight", "a/weight")],
        );
        let m = Ct2Model::parse(&bin).unwrap();
        assert_eq!(m.spec, "WhisperSpec");
        assert_eq!(
            m.get("a/weight").unwrap().to_f32(),
            vec![1.0, 2.0, 3.0, 4.0]
        );
        assert_eq!(m.get("c/weight").unwrap().shape, vec![2, 2]);
        assert_eq!(m.get("b/bias").unwrap().to_f32(), vec![1.5, -2.0]);
        assert!(m.get("missing").is_err());
    }

    #[test]
    fn truncated_file_is_an_error_not_a_panic() {
        let bin = build(
            &[("a/weight", vec![4], Ct2DType::F32, f32_bytes(&[1.0; 4]))],
            &[],
        );
        for cut in [0, 3, 10, bin.len() - 5] {
            assert!(Ct2Model::parse(&bin[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn int8_weights_are_dequantised_per_row() {
        let q: Vec<u8> = [10i8, -20, 30, 40].iter().map(|&v| v as u8).collect();
        let bin = build(
            &[
                ("l/weight", vec![2, 2], Ct2DType::I8, q),
                (
                    "l/weight_scale",
                    vec![2],
                    Ct2DType::F32,
                    f32_bytes(&[10.0, 20.0]),
                ),
            ],
            &[],
        );
        let m = Ct2Model::parse(&bin).unwrap();
        assert_eq!(m.weight_f32("l/weight").unwrap(), vec![1.0, -2.0, 1.5, 2.0]);
    }
}
