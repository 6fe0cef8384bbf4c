//! Tensors, named tensor sets (one run's inputs or outputs) and feeds (several runs' inputs).
use std::borrow::Cow;
use std::ffi::CStr;
use std::marker::PhantomData;
use std::ptr::{self, NonNull};

use halfcast_sys as sys;

use crate::error::{c_string, check, create, ensure_abi, Result};

/// An element type, numbered as onnx.TensorProto.DataType.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ElementType {
    Float,
    Uint8,
    Int8,
    Uint16,
    Int16,
    Int32,
    Int64,
    Bool,
    Float16,
    Double,
    Uint32,
    Uint64,
    Bfloat16,
    /// A type this crate does not know (or UNDEFINED).
    Other(i32),
}

const TYPES: [(ElementType, sys::halfcast_element_type, usize); 13] = [
    (ElementType::Float, sys::HALFCAST_ELEMENT_FLOAT, 4),
    (ElementType::Uint8, sys::HALFCAST_ELEMENT_UINT8, 1),
    (ElementType::Int8, sys::HALFCAST_ELEMENT_INT8, 1),
    (ElementType::Uint16, sys::HALFCAST_ELEMENT_UINT16, 2),
    (ElementType::Int16, sys::HALFCAST_ELEMENT_INT16, 2),
    (ElementType::Int32, sys::HALFCAST_ELEMENT_INT32, 4),
    (ElementType::Int64, sys::HALFCAST_ELEMENT_INT64, 8),
    (ElementType::Bool, sys::HALFCAST_ELEMENT_BOOL, 1),
    (ElementType::Float16, sys::HALFCAST_ELEMENT_FLOAT16, 2),
    (ElementType::Double, sys::HALFCAST_ELEMENT_DOUBLE, 8),
    (ElementType::Uint32, sys::HALFCAST_ELEMENT_UINT32, 4),
    (ElementType::Uint64, sys::HALFCAST_ELEMENT_UINT64, 8),
    (ElementType::Bfloat16, sys::HALFCAST_ELEMENT_BFLOAT16, 2),
];

impl ElementType {
    /// The type for a C value.
    pub fn from_raw(raw: i32) -> ElementType {
        TYPES.iter().find(|e| e.1 == raw).map_or(ElementType::Other(raw), |e| e.0)
    }

    /// The C value (`halfcast_element_type`).
    pub fn raw(self) -> i32 {
        match self {
            ElementType::Other(raw) => raw,
            t => TYPES.iter().find(|e| e.0 == t).map_or(sys::HALFCAST_ELEMENT_UNDEFINED, |e| e.1),
        }
    }

    /// Bytes per element; 0 for an unknown type.
    pub fn size(self) -> usize {
        TYPES.iter().find(|e| e.0 == self).map_or(0, |e| e.2)
    }
}

/// Rust types whose values are stored as a tensor element type.
pub trait Element: Copy + private::Sealed {
    /// The tensor element type of `Self`.
    const TYPE: ElementType;
}

mod private {
    pub trait Sealed {}
}

macro_rules! element {
    ($($rust:ty => $type:ident),*) => {
        $(
            impl private::Sealed for $rust {}
            impl Element for $rust {
                const TYPE: ElementType = ElementType::$type;
            }
        )*
    };
}
element!(f32 => Float, f64 => Double, u8 => Uint8, i8 => Int8, u16 => Uint16, i16 => Int16,
         i32 => Int32, i64 => Int64, u32 => Uint32, u64 => Uint64, bool => Bool);

/// A dense tensor in C order that owns a copy of its data.
///
/// ```
/// let x = halfcast::Tensor::from_slice(&[2, 2], &[1.0f32, 2.0, 3.0, 4.0])?;
/// assert_eq!(x.view().dims(), &[2, 2]);
/// assert_eq!(x.view().to_f32().unwrap(), vec![1.0, 2.0, 3.0, 4.0]);
/// # Ok::<(), halfcast::Error>(())
/// ```
pub struct Tensor {
    ptr: NonNull<sys::halfcast_tensor>,
}

// SAFETY: a tensor is immutable once created; the C API lets threads share const handles.
unsafe impl Send for Tensor {}
unsafe impl Sync for Tensor {}

impl Tensor {
    /// A tensor of `element_type` and shape `dims` over `data`, the elements' bytes in host
    /// byte order (float16 and bfloat16 as their u16 bit patterns). Errors: INVALID_ARGUMENT
    /// when the size does not match the shape, or the type is not supported.
    pub fn new(element_type: ElementType, dims: &[i64], data: &[u8]) -> Result<Tensor> {
        ensure_abi()?;
        let mut out = ptr::null_mut();
        // SAFETY: dims and data are valid for their lengths; the tensor copies them.
        unsafe {
            check(sys::halfcast_tensor_create(
                element_type.raw(),
                dims.as_ptr(),
                dims.len(),
                data.as_ptr().cast(),
                data.len(),
                sys::HALFCAST_TENSOR_COPY,
                &mut out,
            ))?;
        }
        Ok(Tensor { ptr: NonNull::new(out).expect("halfcast_tensor_create gave NULL") })
    }

    /// A tensor of shape `dims` holding a copy of `values`.
    pub fn from_slice<T: Element>(dims: &[i64], values: &[T]) -> Result<Tensor> {
        // SAFETY: every Element is plain data without padding (bool is one byte, 0 or 1).
        let bytes = unsafe {
            std::slice::from_raw_parts(values.as_ptr().cast::<u8>(), std::mem::size_of_val(values))
        };
        Tensor::new(T::TYPE, dims, bytes)
    }

    /// A borrowed view of the tensor.
    pub fn view(&self) -> TensorRef<'_> {
        TensorRef { ptr: self.ptr.as_ptr(), _owner: PhantomData }
    }

    pub(crate) fn as_ptr(&self) -> *const sys::halfcast_tensor {
        self.ptr.as_ptr()
    }
}

impl Drop for Tensor {
    fn drop(&mut self) {
        // SAFETY: the tensor is owned and destroyed once.
        unsafe { sys::halfcast_tensor_destroy(self.ptr.as_ptr()) }
    }
}

/// A tensor borrowed from a [`Tensor`], a [`NamedTensors`] or a callback's arguments.
#[derive(Clone, Copy)]
pub struct TensorRef<'a> {
    ptr: *const sys::halfcast_tensor,
    _owner: PhantomData<&'a ()>,
}

impl<'a> TensorRef<'a> {
    pub fn element_type(&self) -> ElementType {
        // SAFETY: ptr is a live tensor for 'a (as for every accessor below).
        ElementType::from_raw(unsafe { sys::halfcast_tensor_element_type(self.ptr) })
    }

    pub fn dims(&self) -> &'a [i64] {
        unsafe {
            let rank = sys::halfcast_tensor_rank(self.ptr);
            if rank == 0 {
                return &[];
            }
            std::slice::from_raw_parts(sys::halfcast_tensor_dims(self.ptr), rank)
        }
    }

    pub fn element_count(&self) -> usize {
        unsafe { sys::halfcast_tensor_element_count(self.ptr) as usize }
    }

    /// The elements' bytes, C order, host byte order.
    pub fn bytes(&self) -> &'a [u8] {
        unsafe {
            let size = sys::halfcast_tensor_byte_size(self.ptr);
            if size == 0 {
                return &[];
            }
            std::slice::from_raw_parts(sys::halfcast_tensor_data(self.ptr).cast(), size)
        }
    }

    /// The elements as `T`, if `T` is the tensor's type (and the data is aligned for it).
    pub fn as_slice<T: Element>(&self) -> Option<&'a [T]> {
        let bytes = self.bytes();
        if self.element_type() != T::TYPE
            || bytes.as_ptr().align_offset(std::mem::align_of::<T>()) != 0
        {
            return None;
        }
        // SAFETY: type, size and alignment checked; bool tensors hold 0 or 1.
        Some(unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast(), self.element_count()) })
    }

    /// The elements widened (or, for double, narrowed) to f32; None for other types.
    pub fn to_f32(&self) -> Option<Vec<f32>> {
        let bytes = self.bytes();
        let halves = || bytes.chunks_exact(2).map(|b| u16::from_ne_bytes([b[0], b[1]]));
        Some(match self.element_type() {
            ElementType::Float => bytes
                .chunks_exact(4)
                .map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            ElementType::Double => bytes
                .chunks_exact(8)
                .map(|b| f64::from_ne_bytes(b.try_into().expect("8 bytes")) as f32)
                .collect(),
            ElementType::Float16 => halves().map(f16_to_f32).collect(),
            ElementType::Bfloat16 => halves().map(|h| f32::from_bits(u32::from(h) << 16)).collect(),
            _ => return None,
        })
    }
}

/// The value of a float16 bit pattern (exact: every half is a float).
pub fn f16_to_f32(half: u16) -> f32 {
    let sign = u32::from(half & 0x8000) << 16;
    let exponent = u32::from(half >> 10) & 0x1f;
    let mantissa = u32::from(half & 0x3ff);
    let bits = match exponent {
        // Zero and subnormals: mantissa * 2^-24, exact in f32 (the sign keeps -0.0).
        0 => return sign_of(half) * (mantissa as f32) * f32::powi(2.0, -24),
        0x1f => sign | 0x7f80_0000 | (mantissa << 13),
        _ => sign | ((exponent + 112) << 23) | (mantissa << 13),
    };
    f32::from_bits(bits)
}

fn sign_of(half: u16) -> f32 {
    if half & 0x8000 != 0 {
        -1.0
    } else {
        1.0
    }
}

/// A set of tensors by name, ordered by name (byte-wise): one run's inputs.
///
/// ```
/// let mut inputs = halfcast::NamedTensors::new()?;
/// inputs.insert("x", &halfcast::Tensor::from_slice(&[1], &[0.5f32])?)?;
/// assert_eq!(inputs.view().get("x").unwrap().to_f32(), Some(vec![0.5]));
/// # Ok::<(), halfcast::Error>(())
/// ```
pub struct NamedTensors {
    ptr: NonNull<sys::halfcast_named_tensors>,
}

// SAFETY: mutation needs &mut; the C API lets threads share a set they only read.
unsafe impl Send for NamedTensors {}
unsafe impl Sync for NamedTensors {}

impl NamedTensors {
    pub fn new() -> Result<NamedTensors> {
        Ok(NamedTensors { ptr: create(sys::halfcast_named_tensors_create)? })
    }

    /// Adds `tensor` under `name` (the set shares its data). A name already present is
    /// ALREADY_EXISTS.
    pub fn insert(&mut self, name: &str, tensor: &Tensor) -> Result<()> {
        let name = c_string(name, "a tensor name")?;
        // SAFETY: both handles are live; the name is copied.
        unsafe {
            check(sys::halfcast_named_tensors_add(
                self.ptr.as_ptr(),
                name.as_ptr(),
                tensor.as_ptr(),
            ))
        }
    }

    /// A borrowed view of the set.
    pub fn view(&self) -> NamedTensorsRef<'_> {
        NamedTensorsRef { ptr: self.ptr.as_ptr(), _owner: PhantomData }
    }

    pub(crate) fn as_ptr(&self) -> *const sys::halfcast_named_tensors {
        self.ptr.as_ptr()
    }
}

impl Drop for NamedTensors {
    fn drop(&mut self) {
        // SAFETY: owned, destroyed once.
        unsafe { sys::halfcast_named_tensors_destroy(self.ptr.as_ptr()) }
    }
}

/// A named tensor set borrowed from a [`NamedTensors`] or from a callback's arguments (valid
/// for the callback's duration only).
#[derive(Clone, Copy)]
pub struct NamedTensorsRef<'a> {
    ptr: *const sys::halfcast_named_tensors,
    _owner: PhantomData<&'a ()>,
}

impl<'a> NamedTensorsRef<'a> {
    /// # Safety
    /// `ptr` is a live set for 'a.
    pub(crate) unsafe fn from_ptr(ptr: *const sys::halfcast_named_tensors) -> NamedTensorsRef<'a> {
        NamedTensorsRef { ptr, _owner: PhantomData }
    }

    pub fn len(&self) -> usize {
        // SAFETY: ptr is live for 'a (as below).
        unsafe { sys::halfcast_named_tensors_count(self.ptr) }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The tensor named `name`, if present.
    pub fn get(&self, name: &str) -> Option<TensorRef<'a>> {
        let name = c_string(name, "a tensor name").ok()?;
        let tensor = unsafe { sys::halfcast_named_tensors_find(self.ptr, name.as_ptr()) };
        (!tensor.is_null()).then_some(TensorRef { ptr: tensor, _owner: PhantomData })
    }

    /// The (name, tensor) pairs in name order.
    pub fn iter(&self) -> impl Iterator<Item = (Cow<'a, str>, TensorRef<'a>)> + 'a {
        let ptr = self.ptr;
        (0..self.len()).map(move |i| unsafe {
            let name = CStr::from_ptr(sys::halfcast_named_tensors_name(ptr, i)).to_string_lossy();
            let tensor =
                TensorRef { ptr: sys::halfcast_named_tensors_tensor(ptr, i), _owner: PhantomData };
            (name, tensor)
        })
    }
}

/// Test inputs for mixed precision: one [`NamedTensors`] per run of the model.
pub struct Feeds {
    ptr: NonNull<sys::halfcast_feeds>,
}

// SAFETY: mutation needs &mut; the C API lets threads share feeds they only read.
unsafe impl Send for Feeds {}
unsafe impl Sync for Feeds {}

impl Feeds {
    pub fn new() -> Result<Feeds> {
        Ok(Feeds { ptr: create(sys::halfcast_feeds_create)? })
    }

    /// Feeds of one run.
    pub fn single(inputs: &NamedTensors) -> Result<Feeds> {
        let mut feeds = Feeds::new()?;
        feeds.push(inputs)?;
        Ok(feeds)
    }

    /// Appends one run's inputs (sharing their tensors' data).
    pub fn push(&mut self, inputs: &NamedTensors) -> Result<()> {
        // SAFETY: both handles are live.
        unsafe { check(sys::halfcast_feeds_add(self.ptr.as_ptr(), inputs.as_ptr())) }
    }

    pub fn len(&self) -> usize {
        // SAFETY: live handle.
        unsafe { sys::halfcast_feeds_count(self.ptr.as_ptr()) }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn as_ptr(&self) -> *const sys::halfcast_feeds {
        self.ptr.as_ptr()
    }
}

impl Drop for Feeds {
    fn drop(&mut self) {
        // SAFETY: owned, destroyed once.
        unsafe { sys::halfcast_feeds_destroy(self.ptr.as_ptr()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_widen_exactly() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x0001), f32::powi(2.0, -24));
        assert_eq!(f16_to_f32(0x8001), -f32::powi(2.0, -24));
        assert_eq!(f16_to_f32(0x03ff), 1023.0 * f32::powi(2.0, -24));
        assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
        assert!(f16_to_f32(0x7e00).is_nan());
        assert_eq!(f16_to_f32(0x8000).to_bits(), 0x8000_0000);
    }

    #[test]
    fn element_types_round_trip_through_their_c_values() {
        for raw in 0..20 {
            assert_eq!(ElementType::from_raw(raw).raw(), raw);
        }
        assert_eq!(ElementType::Float16.size(), 2);
    }
}
