//! A cgo Go program, built static with `CC=musl-gcc`.
