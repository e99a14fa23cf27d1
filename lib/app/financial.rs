//! `financial-service --index N`: the SOAP card-approval stub.

use crate::config::Component;
use crate::soap::{serve, ApprovalPolicy};

use super::{server_setup, Failure};

/// Handler threads of the financial service.
const WORKERS: usize = 8;

/// Serves SOAP until killed.
pub fn run_financial_service(arguments: impl IntoIterator<Item = String>) -> Result<(), Failure> {
    let (config, index) = server_setup(Component::FinancialService, arguments)?;
    let entry = &config.financial_service[index].http;
    let address = entry.bind_address();
    let policy = ApprovalPolicy {
        approve_probability: config.financial.approve_probability,
        seed: config.financial.seed,
    };
    let server = serve(address, policy, WORKERS)
        .map_err(|e| Failure::runtime(&format!("cannot serve SOAP on {address}"), e))?;
    log::info!(
        "financial-service {index} serving SOAP on http://{}/soap (WSDL at ?wsdl)",
        entry.describe_binding()
    );
    server
        .wait()
        .map_err(|e| Failure::runtime("financial service stopped", e))
}
