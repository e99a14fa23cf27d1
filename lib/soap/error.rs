//! `SoapError`: everything that can go wrong asking for a card approval, typed
//! so the buyer frontend can map it to an HTTP status in one place.

use std::fmt;

/// Who is to blame for a SOAP Fault (SOAP 1.1 section 4.4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultCode {
    /// `soap:Client`: the request was wrong (bad XML, a missing field, an
    /// expired card). Sending it again will not help.
    Client,
    /// `soap:Server`: the service failed to process a good request. Any other
    /// code read from the wire (`VersionMismatch`, `MustUnderstand`) counts as
    /// this one too, since it is no fault of the buyer's input.
    Server,
}

impl FaultCode {
    /// The qualified name written in `<faultcode>`, with the `soap` prefix
    /// that every envelope we write declares.
    pub fn qualified_name(self) -> &'static str {
        match self {
            FaultCode::Client => "soap:Client",
            FaultCode::Server => "soap:Server",
        }
    }

    /// Reads a `<faultcode>` value whatever its prefix: `soap:Client`,
    /// `SOAP-ENV:Client` and the dotted `env:Client.Card` are all `Client`.
    pub fn from_qualified_name(name: &str) -> FaultCode {
        let local = name.trim().rsplit(':').next().unwrap_or_default();
        if local == "Client" || local.starts_with("Client.") {
            FaultCode::Client
        } else {
            FaultCode::Server
        }
    }
}

/// A failed card approval. A declined card is not an error: it is
/// `Ok(PaymentDecision::Declined(..))`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SoapError {
    /// No financial-service endpoint could be reached or answered in time
    /// (the frontend answers 503 and the purchase may be retried).
    Transport(String),
    /// The service answered with a SOAP Fault. `Client` faults carry a
    /// message meant for the buyer (the frontend answers 400 with it).
    Fault {
        /// Whose fault it is.
        code: FaultCode,
        /// The `faultstring`, in words.
        message: String,
    },
    /// The reply was not a SOAP message we understand.
    Malformed(String),
}

impl SoapError {
    /// A `soap:Client` fault: the caller's input broke a rule.
    pub fn client_fault(message: impl Into<String>) -> Self {
        SoapError::Fault {
            code: FaultCode::Client,
            message: message.into(),
        }
    }

    /// A `soap:Server` fault: the service itself failed.
    pub fn server_fault(message: impl Into<String>) -> Self {
        SoapError::Fault {
            code: FaultCode::Server,
            message: message.into(),
        }
    }
}

impl fmt::Display for SoapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SoapError::Transport(m) => write!(f, "financial service unavailable: {m}"),
            SoapError::Fault {
                code: FaultCode::Client,
                message,
            } => f.write_str(message),
            SoapError::Fault {
                code: FaultCode::Server,
                message,
            } => {
                write!(f, "financial service error: {message}")
            }
            SoapError::Malformed(m) => write!(f, "malformed reply from financial service: {m}"),
        }
    }
}

impl std::error::Error for SoapError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_code_ignores_the_prefix() {
        assert_eq!(
            FaultCode::from_qualified_name("soap:Client"),
            FaultCode::Client
        );
        assert_eq!(
            FaultCode::from_qualified_name("SOAP-ENV:Client"),
            FaultCode::Client
        );
        assert_eq!(
            FaultCode::from_qualified_name("env:Client.Card"),
            FaultCode::Client
        );
        assert_eq!(FaultCode::from_qualified_name("Client"), FaultCode::Client);
        assert_eq!(
            FaultCode::from_qualified_name("soap:Server"),
            FaultCode::Server
        );
        assert_eq!(
            FaultCode::from_qualified_name("soap:MustUnderstand"),
            FaultCode::Server
        );
    }

    #[test]
    fn client_faults_display_their_message_alone() {
        // The frontend shows this text to the buyer as is.
        assert_eq!(
            SoapError::client_fault("card expired").to_string(),
            "card expired"
        );
        assert!(SoapError::Transport("refused".into())
            .to_string()
            .contains("unavailable"));
    }
}
