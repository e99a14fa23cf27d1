//! The WSDL 1.1 description of the payment service, served at `GET /soap?wsdl`.
//!
//! Document/literal "wrapped" style, which is what standard SOAP clients
//! (zeep, JAX-WS, .NET) generate code from: one global element per message,
//! each message a single part named `parameters`, and an inline schema with
//! `elementFormDefault="qualified"` so that clients put the fields in the
//! service namespace, where `envelope.rs` looks for them.

use super::envelope::escape;

/// The WSDL with `address` (e.g. `http://127.0.0.1:8100/soap`) as the
/// service location. Clients send their calls there.
pub fn wsdl(address: &str) -> String {
    WSDL_TEMPLATE.replace("{address}", &escape(address))
}

/// The WSDL text; `{address}` is replaced by the endpoint URL.
const WSDL_TEMPLATE: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<wsdl:definitions name="PaymentService"
    targetNamespace="urn:marketplace:payment"
    xmlns:tns="urn:marketplace:payment"
    xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:xsd="http://www.w3.org/2001/XMLSchema">

  <wsdl:documentation>Card approval for the marketplace. A declined card is a normal
    answer (approved=false); invalid input is a soap:Client Fault.</wsdl:documentation>

  <wsdl:types>
    <xsd:schema targetNamespace="urn:marketplace:payment" elementFormDefault="qualified">
      <xsd:element name="AuthorizePayment">
        <xsd:complexType>
          <xsd:sequence>
            <xsd:element name="cardHolder" type="xsd:string"/>
            <xsd:element name="cardNumber" type="xsd:string"/>
            <xsd:element name="expiry" type="xsd:string"/>
            <xsd:element name="amountCents" type="xsd:unsignedLong"/>
            <xsd:element name="requestId" type="xsd:string"/>
          </xsd:sequence>
        </xsd:complexType>
      </xsd:element>
      <xsd:element name="AuthorizePaymentResponse">
        <xsd:complexType>
          <xsd:sequence>
            <xsd:element name="approved" type="xsd:boolean"/>
            <xsd:element name="reason" type="xsd:string"/>
          </xsd:sequence>
        </xsd:complexType>
      </xsd:element>
    </xsd:schema>
  </wsdl:types>

  <wsdl:message name="AuthorizePaymentInput">
    <wsdl:part name="parameters" element="tns:AuthorizePayment"/>
  </wsdl:message>
  <wsdl:message name="AuthorizePaymentOutput">
    <wsdl:part name="parameters" element="tns:AuthorizePaymentResponse"/>
  </wsdl:message>

  <wsdl:portType name="PaymentPortType">
    <wsdl:operation name="AuthorizePayment">
      <wsdl:input message="tns:AuthorizePaymentInput"/>
      <wsdl:output message="tns:AuthorizePaymentOutput"/>
    </wsdl:operation>
  </wsdl:portType>

  <wsdl:binding name="PaymentBinding" type="tns:PaymentPortType">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <wsdl:operation name="AuthorizePayment">
      <soap:operation soapAction="urn:marketplace:payment#AuthorizePayment" style="document"/>
      <wsdl:input><soap:body use="literal"/></wsdl:input>
      <wsdl:output><soap:body use="literal"/></wsdl:output>
    </wsdl:operation>
  </wsdl:binding>

  <wsdl:service name="PaymentService">
    <wsdl:port name="PaymentPort" binding="tns:PaymentBinding">
      <soap:address location="{address}"/>
    </wsdl:port>
  </wsdl:service>
</wsdl:definitions>
"#;

#[cfg(test)]
mod tests {
    use roxmltree::Document;

    use super::*;
    use crate::soap::{AUTHORIZE_ACTION, PAYMENT_NAMESPACE};

    const WSDL_NAMESPACE: &str = "http://schemas.xmlsoap.org/wsdl/";
    const BINDING_NAMESPACE: &str = "http://schemas.xmlsoap.org/wsdl/soap/";

    #[test]
    fn wsdl_parses_and_declares_the_operation() {
        let text = wsdl("http://127.0.0.1:8100/soap");
        let document = Document::parse(&text).expect("the WSDL is well-formed XML");
        let root = document.root_element();
        assert!(root.has_tag_name((WSDL_NAMESPACE, "definitions")));
        assert_eq!(root.attribute("targetNamespace"), Some(PAYMENT_NAMESPACE));

        let operations: Vec<_> = document
            .descendants()
            .filter(|n| n.has_tag_name((WSDL_NAMESPACE, "operation")))
            .map(|n| n.attribute("name"))
            .collect();
        assert_eq!(
            operations,
            [Some("AuthorizePayment"), Some("AuthorizePayment")]
        );

        let action = document
            .descendants()
            .find(|n| n.has_tag_name((BINDING_NAMESPACE, "operation")))
            .and_then(|n| n.attribute("soapAction"));
        assert_eq!(action, Some(AUTHORIZE_ACTION));

        let address = document
            .descendants()
            .find(|n| n.has_tag_name((BINDING_NAMESPACE, "address")))
            .and_then(|n| n.attribute("location"));
        assert_eq!(address, Some("http://127.0.0.1:8100/soap"));
    }

    #[test]
    fn schema_declares_every_field_the_codec_reads() {
        let text = wsdl("http://x/soap");
        let document = Document::parse(&text).unwrap();
        let declared: Vec<&str> = document
            .descendants()
            .filter(|n| n.tag_name().name() == "element")
            .filter_map(|n| n.attribute("name"))
            .collect();
        let fields = [
            "cardHolder",
            "cardNumber",
            "expiry",
            "amountCents",
            "requestId",
        ];
        for name in [
            "AuthorizePayment",
            "AuthorizePaymentResponse",
            "approved",
            "reason",
        ]
        .iter()
        .chain(fields.iter())
        {
            assert!(declared.contains(name), "{name} not declared");
        }
    }

    #[test]
    fn address_is_escaped() {
        let text = wsdl("http://a\"b<c>/soap");
        let document = Document::parse(&text).unwrap();
        let address = document
            .descendants()
            .find(|n| n.has_tag_name((BINDING_NAMESPACE, "address")))
            .and_then(|n| n.attribute("location"));
        assert_eq!(address, Some("http://a\"b<c>/soap"));
    }
}
