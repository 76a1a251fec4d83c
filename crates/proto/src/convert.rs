//! Conversions between the wire messages and the raw CEB model of `bondgate-ceb`.
//!
//! Both sides hold the same raw texts under the same snake_case names, so each conversion is a
//! field-by-field copy; the field lists below are the single place that pairs them.

use crate::v1;
use bondgate_ceb::model as raw;

/// Copies the listed fields (same name on both sides) into a new `$ty`.
macro_rules! copy_fields {
    ($src:expr => $ty:ty { $($field:ident),* $(,)? }) => {
        {
            let mut copy = <$ty>::default();
            $(copy.$field = $src.$field.clone();)*
            copy
        }
    };
}

macro_rules! order_head_fields {
    ($src:expr => $ty:ty) => {
        copy_fields!($src => $ty {
            guid, app_type, app_time, app_status, order_type, order_no, ebp_code, ebp_name,
            ebc_code, ebc_name, goods_value, freight, discount, tax_total, actural_paid, currency,
            buyer_reg_no, buyer_name, buyer_telephone, buyer_id_type, buyer_id_number, pay_code,
            pay_name, pay_transaction_id, batch_numbers, consignee, consignee_telephone,
            consignee_address, consignee_district, note,
        })
    };
}

macro_rules! order_line_fields {
    ($src:expr => $ty:ty) => {
        copy_fields!($src => $ty {
            gnum, item_no, item_name, gmodel, item_describe, bar_code, unit, qty, price,
            total_price, currency, country, note,
        })
    };
}

macro_rules! payment_fields {
    ($src:expr => $ty:ty) => {
        copy_fields!($src => $ty {
            guid, app_type, app_time, app_status, pay_code, pay_name, pay_transaction_id,
            order_no, ebp_code, ebp_name, payer_id_type, payer_id_number, payer_name, telephone,
            amount_paid, currency, pay_time, note,
        })
    };
}

macro_rules! waybill_fields {
    ($src:expr => $ty:ty) => {
        copy_fields!($src => $ty {
            guid, app_type, app_time, app_status, logistics_code, logistics_name, logistics_no,
            bill_no, order_no, freight, insured_fee, currency, weight, pack_no, goods_info,
            consignee, consignee_address, consignee_telephone, note,
        })
    };
}

macro_rules! inventory_reference_fields {
    ($src:expr => $ty:ty) => {
        copy_fields!($src => $ty {
            guid, app_type, app_time, app_status, customs_code, order_no, ebp_code, ebp_name,
            ebc_code, ebc_name, logistics_no, logistics_code, logistics_name, cop_no, pre_no,
            invt_no, buyer_id_type, buyer_id_number, buyer_name, buyer_telephone, agent_code,
            agent_name, reason, note,
        })
    };
}

macro_rules! refund_line_fields {
    ($src:expr => $ty:ty) => {
        copy_fields!($src => $ty { gnum, gcode, gname, qty, unit, note })
    };
}

impl From<&v1::Order> for raw::Order {
    fn from(order: &v1::Order) -> Self {
        raw::Order {
            head: order_head_fields!(order => raw::OrderHead),
            lists: order
                .lines
                .iter()
                .map(|line| order_line_fields!(line => raw::OrderList))
                .collect(),
        }
    }
}

impl From<&raw::Order> for v1::Order {
    fn from(order: &raw::Order) -> Self {
        v1::Order {
            lines: order
                .lists
                .iter()
                .map(|line| order_line_fields!(line => v1::OrderLine))
                .collect(),
            ..order_head_fields!(order.head => v1::Order)
        }
    }
}

impl From<&v1::Payment> for raw::PaymentHead {
    fn from(payment: &v1::Payment) -> Self {
        payment_fields!(payment => raw::PaymentHead)
    }
}

impl From<&raw::PaymentHead> for v1::Payment {
    fn from(payment: &raw::PaymentHead) -> Self {
        payment_fields!(payment => v1::Payment)
    }
}

impl From<&v1::Waybill> for raw::LogisticsHead {
    fn from(waybill: &v1::Waybill) -> Self {
        waybill_fields!(waybill => raw::LogisticsHead)
    }
}

impl From<&raw::LogisticsHead> for v1::Waybill {
    fn from(waybill: &raw::LogisticsHead) -> Self {
        waybill_fields!(waybill => v1::Waybill)
    }
}

macro_rules! logistics_status_fields {
    ($src:expr => $ty:ty) => {
        copy_fields!($src => $ty {
            guid, app_type, app_time, app_status, logistics_code, logistics_name, logistics_no,
            logistics_status, logistics_time, note,
        })
    };
}

impl From<&v1::LogisticsStatus> for raw::LogisticsStatus {
    fn from(status: &v1::LogisticsStatus) -> Self {
        logistics_status_fields!(status => raw::LogisticsStatus)
    }
}

impl From<&raw::LogisticsStatus> for v1::LogisticsStatus {
    fn from(status: &raw::LogisticsStatus) -> Self {
        logistics_status_fields!(status => v1::LogisticsStatus)
    }
}

impl From<&v1::Cancellation> for raw::InvtCancel {
    fn from(cancellation: &v1::Cancellation) -> Self {
        inventory_reference_fields!(cancellation => raw::InvtCancel)
    }
}

impl From<&raw::InvtCancel> for v1::Cancellation {
    fn from(cancellation: &raw::InvtCancel) -> Self {
        inventory_reference_fields!(cancellation => v1::Cancellation)
    }
}

impl From<&v1::Refund> for raw::InvtRefund {
    fn from(refund: &v1::Refund) -> Self {
        raw::InvtRefund {
            head: inventory_reference_fields!(refund => raw::InvtRefundHead),
            lists: refund
                .lines
                .iter()
                .map(|line| refund_line_fields!(line => raw::InvtRefundList))
                .collect(),
        }
    }
}

impl From<&raw::InvtRefund> for v1::Refund {
    fn from(refund: &raw::InvtRefund) -> Self {
        v1::Refund {
            lines: refund
                .lists
                .iter()
                .map(|line| refund_line_fields!(line => v1::RefundLine))
                .collect(),
            ..inventory_reference_fields!(refund.head => v1::Refund)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_survives_a_round_trip_through_the_raw_model() {
        let order = v1::Order {
            order_no: "O1".into(),
            actural_paid: "410.00".into(),
            pay_code: Some("P1".into()),
            consignee_district: None,
            lines: vec![v1::OrderLine {
                gnum: "1".into(),
                qty: "2".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let raw = raw::Order::from(&order);
        assert_eq!(raw.head.actural_paid, "410.00");
        assert_eq!(raw.lists[0].qty, "2");
        assert_eq!(v1::Order::from(&raw), order);
    }

    #[test]
    fn refund_survives_a_round_trip_through_the_raw_model() {
        let refund = v1::Refund {
            invt_no: "80122026I000000001".into(),
            reason: "破损".into(),
            lines: vec![v1::RefundLine {
                gnum: "1".into(),
                qty: "1".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(v1::Refund::from(&raw::InvtRefund::from(&refund)), refund);
    }
}
