//! W3C trace context across the bus: a publisher's span continues in every
//! subscriber.
//!
//! Publishing reads the OpenTelemetry context of the current `tracing` span
//! (via `tracing-opentelemetry`) and stores it as the envelope's
//! `traceparent`. A subscriber calls [`event_span`] (or [`follow`] on a span
//! of its own) to make a span whose parent is the publisher's.

use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::{OpenTelemetrySpanExt, SetParentError};

use crate::envelope::Envelope;

/// Name of the W3C header and of the envelope field.
pub const TRACEPARENT: &str = "traceparent";

/// Keeps only the `traceparent` value the propagator writes.
struct Capture(Option<String>);

impl Injector for Capture {
    fn set(&mut self, key: &str, value: String) {
        if key == TRACEPARENT {
            self.0 = Some(value);
        }
    }
}

struct One<'a>(&'a str);

impl Extractor for One<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        (key == TRACEPARENT).then_some(self.0)
    }

    fn keys(&self) -> Vec<&str> {
        vec![TRACEPARENT]
    }
}

/// The `traceparent` of the current span, if it belongs to a sampled or
/// otherwise valid OpenTelemetry trace.
pub fn current_traceparent() -> Option<String> {
    let span = tracing::Span::current();
    if span.is_none() {
        return None;
    }
    traceparent_of(&span)
}

/// The `traceparent` of `span`, if it has a valid OpenTelemetry context.
pub fn traceparent_of(span: &tracing::Span) -> Option<String> {
    traceparent_of_context(&span.context())
}

/// The `traceparent` encoding of an OpenTelemetry context, if it holds a valid span.
pub fn traceparent_of_context(cx: &Context) -> Option<String> {
    if !cx.span().span_context().is_valid() {
        return None;
    }
    let mut capture = Capture(None);
    TraceContextPropagator::new().inject_context(cx, &mut capture);
    capture.0
}

/// The publisher's context carried by `env`, if any.
pub fn parent_context(env: &Envelope) -> Option<Context> {
    let tp = env.traceparent()?;
    let cx = TraceContextPropagator::new().extract(&One(tp));
    cx.span().span_context().is_valid().then_some(cx)
}

/// Makes `span` (not yet entered) a child of the publisher's span of `env`.
/// Does nothing when the envelope carries no trace context.
pub fn follow(span: &tracing::Span, env: &Envelope) -> Result<(), SetParentError> {
    match parent_context(env) {
        Some(cx) => span.set_parent(cx),
        None => Ok(()),
    }
}

/// A `bus.event` span for handling `env`, child of the publisher's span.
pub fn event_span(env: &Envelope) -> tracing::Span {
    let span = tracing::info_span!(
        "bus.event",
        topic = %env.topic(),
        event.type = %env.kind(),
        event.id = %env.id(),
    );
    if let Err(e) = follow(&span, env) {
        tracing::debug!(error = %e, "trace context of a bus event not attached");
    }
    span
}

/// The context a `traceparent` string names, if it is valid.
pub fn context_of_traceparent(traceparent: &str) -> Option<Context> {
    let cx = TraceContextPropagator::new().extract(&One(traceparent));
    cx.span().span_context().is_valid().then_some(cx)
}

/// Makes `span` (not yet entered) a child of the span `traceparent` names; does nothing for
/// an invalid value (a record from an untraced or foreign producer).
pub fn continue_trace(span: &tracing::Span, traceparent: &str) {
    if let Some(cx) = context_of_traceparent(traceparent)
        && let Err(e) = span.set_parent(cx)
    {
        tracing::debug!(error = %e, "trace context not attached");
    }
}
