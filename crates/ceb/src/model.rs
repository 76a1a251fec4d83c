//! The raw CEB message model: one struct per business node of `ceb_import_202205.xsd`.
//!
//! Every field is the element's raw text: `String` when the XSD requires the element,
//! `Option<String>` when it may be absent. Nothing is validated here on purpose: the domain crate
//! turns these into strong types and reports every problem with its field path, which it can only
//! do if the codec hands it the text exactly as received.
//!
//! Field order in every struct is the XSD element order; the emitter writes elements in the order
//! of [`Record::FIELDS`], so keeping the two in step keeps emitted XML schema-valid. Serde names are
//! the CEB element names (`acturalPaid`, `consigneeDistrict`, ...). Declaration-side structs deny
//! unknown JSON fields; receipt-side structs accept them, as the customs side may add elements.

use serde::{Deserialize, Serialize};

/// Namespace of every CEB business element.
pub const CEB_NAMESPACE: &str = "http://www.chinaport.gov.cn/ceb";

/// One field element of a [`Record`] as the XSD declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    /// Local element name, e.g. `acturalPaid`.
    pub name: &'static str,
    /// Whether the XSD requires the element (`minOccurs` is not 0).
    pub required: bool,
}

/// A flat CEB business node whose children are all text fields.
///
/// Implemented by every struct of this module except the composites ([`Order`], [`Inventory`],
/// [`InvtRefund`], [`Delivery`], [`Tax`]); the codec reads and writes records through it, so the
/// field list lives in exactly one place.
pub trait Record: Default {
    /// Local name of the element, e.g. `OrderHead`.
    const TAG: &'static str;
    /// Whether unknown or duplicate child elements are refused (declarations) rather than skipped
    /// (receipts, where customs adds elements such as `orderNo` in CEB816).
    const STRICT: bool;
    /// Field elements in XSD order.
    const FIELDS: &'static [FieldSpec];
    /// Raw text of the field named `name`; `None` when absent or not a field of this record.
    fn field(&self, name: &str) -> Option<&str>;
    /// Stores raw text into the field named `name`; returns `false` if there is no such field.
    fn set_field(&mut self, name: &str, value: String) -> bool;
}

/// Declares a record struct and its [`Record`] impl from one field list, so struct fields,
/// XSD order and codec access can never drift apart.
macro_rules! record {
    (
        $(#[$meta:meta])*
        $name:ident, strict = $strict:literal {
            $( $(#[$fmeta:meta])* $field:ident = $xml:literal : $kind:ident, )*
        }
    ) => {
        #[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
        #[serde(rename_all = "camelCase")]
        $(#[$meta])*
        pub struct $name {
            $( $(#[$fmeta])* pub $field: record!(@ty $kind), )*
        }

        impl Record for $name {
            const TAG: &'static str = stringify!($name);
            const STRICT: bool = $strict;
            const FIELDS: &'static [FieldSpec] = &[
                $( FieldSpec { name: $xml, required: record!(@required $kind) }, )*
            ];

            fn field(&self, name: &str) -> Option<&str> {
                match name {
                    $( $xml => record!(@get $kind, self.$field), )*
                    _ => None,
                }
            }

            fn set_field(&mut self, name: &str, value: String) -> bool {
                match name {
                    $( $xml => { record!(@set $kind, self.$field, value); true } )*
                    _ => false,
                }
            }
        }
    };
    (@ty req) => { String };
    (@ty opt) => { Option<String> };
    (@required req) => { true };
    (@required opt) => { false };
    (@get req, $e:expr) => { Some($e.as_str()) };
    (@get opt, $e:expr) => { $e.as_deref() };
    (@set req, $e:expr, $v:expr) => { $e = $v };
    (@set opt, $e:expr, $v:expr) => { $e = Some($v) };
}

record! {
    /// CEB311 电子订单 order head (`Order/OrderHead`).
    /// Fields are in XSD element order.
    #[serde(deny_unknown_fields)]
    OrderHead, strict = true {
        /// `guid`: 企业系统生成36位唯一序号（英文字母大写）。
        guid = "guid": req,
        /// `appType`: 企业报送类型。1-新增 2-变更 3-删除。默认为1。
        app_type = "appType": req,
        /// `appTime`: 企业报送时间。格式:YYYYMMDDhhmmss。mss
        app_time = "appTime": req,
        /// `appStatus`: 业务状态:1-暂存,2-申报,默认为2。
        app_status = "appStatus": req,
        /// `orderType`: 电子订单类型：I进口
        order_type = "orderType": req,
        /// `orderNo`: 交易平台的订单编号，同一交易平台的订单编号应唯一。订单编号长度不能超过60位。
        order_no = "orderNo": req,
        /// `ebpCode`: 电商平台的海关注册登记编号；电商平台未在海关注册登记，由电商企业发送订单的，以中国电子口岸发布的电商平台标识编号为准。
        ebp_code = "ebpCode": req,
        /// `ebpName`: 电商平台的海关注册登记名称；电商平台未在海关注册登记，由电商企业发送订单的，以中国电子口岸发布的电商平台名称为准。
        ebp_name = "ebpName": req,
        /// `ebcCode`: 电商企业的海关注册登记编号。
        ebc_code = "ebcCode": req,
        /// `ebcName`: 电商企业的海关注册登记名称。
        ebc_name = "ebcName": req,
        /// `goodsValue`: 商品实际成交价，含非现金抵扣金额。
        goods_value = "goodsValue": req,
        /// `freight`: 不包含在商品价格中的运杂费，无则填写"0"。
        freight = "freight": req,
        /// `discount`: 使用积分、虚拟货币、代金券等非现金支付金额，无则填写"0"。
        discount = "discount": req,
        /// `taxTotal`: 企业预先代扣的税款金额，无则填写“0”
        tax_total = "taxTotal": req,
        /// `acturalPaid`: 商品价格+运杂费+代扣税款-非现金抵扣金额，与支付凭证的支付金额一致。
        actural_paid = "acturalPaid": req,
        /// `currency`: 限定为人民币，填写“142”。
        currency = "currency": req,
        /// `buyerRegNo`: 订购人的交易平台注册号。
        buyer_reg_no = "buyerRegNo": req,
        /// `buyerName`: 订购人的真实姓名。
        buyer_name = "buyerName": req,
        /// `buyerTelephone`: 订购人电话。
        buyer_telephone = "buyerTelephone": req,
        /// `buyerIdType`: 1-身份证,2-其它。限定为身份证，填写“1”
        buyer_id_type = "buyerIdType": req,
        /// `buyerIdNumber`: 订购人的身份证件号码。
        buyer_id_number = "buyerIdNumber": req,
        /// `payCode`: 支付企业的海关注册登记编号。
        pay_code = "payCode": opt,
        /// `payName`: 支付企业在海关注册登记的企业名称。
        pay_name = "payName": opt,
        /// `payTransactionId`: 支付企业唯一的支付流水号。
        pay_transaction_id = "payTransactionId": opt,
        /// `batchNumbers`: 商品批次号
        batch_numbers = "batchNumbers": opt,
        /// `consignee`: 收货人姓名，必须与电子运单的收货人姓名一致。
        consignee = "consignee": req,
        /// `consigneeTelephone`: 收货人联系电话，必须与电子运单的收货人电话一致。
        consignee_telephone = "consigneeTelephone": req,
        /// `consigneeAddress`: 收货地址，必须与电子运单的收货地址一致。
        consignee_address = "consigneeAddress": req,
        /// `consigneeDistrict`: 参照国家统计局公布的国家行政区划标准填制。
        consignee_district = "consigneeDistrict": opt,
        /// `note`: 订单备注
        note = "note": opt,
    }
}

record! {
    /// CEB311 order line (`Order/OrderList`, 1..99 per order).
    /// Fields are in XSD element order.
    #[serde(deny_unknown_fields)]
    OrderList, strict = true {
        /// `gnum`: 从1开始的递增序号。
        gnum = "gnum": req,
        /// `itemNo`: 电商企业自定义的商品货号（SKU）。
        item_no = "itemNo": opt,
        /// `itemName`: 交易平台销售商品的中文名称。
        item_name = "itemName": req,
        /// `gmodel`: 满足海关归类、审价以及监管的要求为准。包括：品名、牌名、规格、型号、成份、含量、等级等。
        gmodel = "gmodel": req,
        /// `itemDescribe`: 交易平台销售商品的描述信息。
        item_describe = "itemDescribe": opt,
        /// `barCode`: 国际通用的商品条形码，一般由前缀部分、制造厂商代码、商品代码和校验码组成。
        bar_code = "barCode": opt,
        /// `unit`: 填写海关标准的参数代码，参照《JGS-20 海关业务代码集》- 计量单位代码。
        unit = "unit": req,
        /// `qty`: 商品实际数量。
        qty = "qty": req,
        /// `price`: 商品单价。赠品单价填写为“0”。
        price = "price": req,
        /// `totalPrice`: 商品总价，等于单价乘以数量。
        total_price = "totalPrice": req,
        /// `currency`: 限定为人民币，填写“142”。
        currency = "currency": req,
        /// `country`: 填写海关标准的参数代码，参照《JGS-20 海关业务代码集》-国家（地区）代码表。
        country = "country": req,
        /// `note`: 促销活动，商品单价偏离市场价格的，可以在此说明。
        note = "note": opt,
    }
}

record! {
    /// CEB411 支付单 payment (`Payment/PaymentHead`).
    /// Fields are in XSD element order.
    #[serde(deny_unknown_fields)]
    PaymentHead, strict = true {
        /// `guid`: 企业系统生成36位唯一序号（英文字母大写）。
        guid = "guid": req,
        /// `appType`: 企业报送类型。1-新增 2-变更 3-删除。默认为1。
        app_type = "appType": req,
        /// `appTime`: 企业报送时间。格式:YYYYMMDDhhmmss。mss
        app_time = "appTime": req,
        /// `appStatus`: 业务状态:1-暂存,2-申报,默认为2。
        app_status = "appStatus": req,
        /// `payCode`: 支付企业的海关注册登记编号。
        pay_code = "payCode": req,
        /// `payName`: 支付企业在海关注册登记的名称。
        pay_name = "payName": req,
        /// `payTransactionId`: 支付企业唯一的支付流水号。
        pay_transaction_id = "payTransactionId": req,
        /// `orderNo`: 交易平台的订单编号，同一交易平台的订单编号应唯一。订单编号长度不能超过60位。
        order_no = "orderNo": req,
        /// `ebpCode`: 电商平台的海关注册登记编号；电商平台未在海关注册登记，由电商企业发送订单的，以中国电子口岸发布的电商平台标识编号为准。
        ebp_code = "ebpCode": req,
        /// `ebpName`: 电商平台的海关注册登记名称；电商平台未在海关注册登记，由电商企业发送订单的，以中国电子口岸发布的电商平台名称为准。
        ebp_name = "ebpName": req,
        /// `payerIdType`: 1-身份证,2-其它。限定为身份证，填写“1”。
        payer_id_type = "payerIdType": req,
        /// `payerIdNumber`: 支付人证件号码
        payer_id_number = "payerIdNumber": req,
        /// `payerName`: 支付人的身份证件号码。
        payer_name = "payerName": req,
        /// `telephone`: 支付人电话
        telephone = "telephone": opt,
        /// `amountPaid`: 支付金额
        amount_paid = "amountPaid": req,
        /// `currency`: 限定为人民币，填写“142”。
        currency = "currency": req,
        /// `payTime`: 支付时间，格式:YYYYMMDDhhmmss。hm
        pay_time = "payTime": req,
        /// `note`: 备注
        note = "note": opt,
    }
}

record! {
    /// CEB511 运单 waybill (`Logistics/LogisticsHead`).
    /// Fields are in XSD element order.
    #[serde(deny_unknown_fields)]
    LogisticsHead, strict = true {
        /// `guid`: 企业系统生成36位唯一序号（英文字母大写）。
        guid = "guid": req,
        /// `appType`: 企业报送类型。1-新增 2-变更 3-删除。默认为1。
        app_type = "appType": req,
        /// `appTime`: 企业报送时间。格式:YYYYMMDDhhmmss。mss
        app_time = "appTime": req,
        /// `appStatus`: 业务状态:1-暂存,2-申报,默认为2。
        app_status = "appStatus": req,
        /// `logisticsCode`: 物流企业的海关注册登记编号。
        logistics_code = "logisticsCode": req,
        /// `logisticsName`: 物流企业在海关注册登记的名称。
        logistics_name = "logisticsName": req,
        /// `logisticsNo`: 物流企业的运单包裹面单号。同一物流企业的运单编号在6个月内不重复。运单编号长度不能超过60位。
        logistics_no = "logisticsNo": req,
        /// `billNo`: 直购进口为海运提单、空运总单或汽车载货清单
        bill_no = "billNo": opt,
        /// `orderNo`: 交易平台的订单编号，同一交易平台的订单编号应唯一。订单编号长度不能超过60位。
        order_no = "orderNo": req,
        /// `freight`: 商品运输费用，无则填“0”。
        freight = "freight": opt,
        /// `insuredFee`: 商品保险费用，无则填“0”。
        insured_fee = "insuredFee": opt,
        /// `currency`: 限定为人民币，填写“142”。
        currency = "currency": req,
        /// `weight`: 毛重,单位为千克。
        weight = "weight": req,
        /// `packNo`: 单个运单下包裹数，限定为“1”。
        pack_no = "packNo": req,
        /// `goodsInfo`: 配送的商品信息，包括商品名称、数量等。
        goods_info = "goodsInfo": opt,
        /// `consignee`: 收货人姓名。
        consignee = "consignee": req,
        /// `consigneeAddress`: 收货地址。
        consignee_address = "consigneeAddress": req,
        /// `consigneeTelephone`: 收货人电话号码。
        consignee_telephone = "consigneeTelephone": req,
        /// `note`: 备注
        note = "note": opt,
    }
}

record! {
    /// CEB513 运单状态 waybill status (signed-for).
    /// Fields are in XSD element order.
    #[serde(deny_unknown_fields)]
    LogisticsStatus, strict = true {
        /// `guid`: 企业系统生成36位唯一序号（英文字母大写）
        guid = "guid": req,
        /// `appType`: 企业报送类型。1-新增 2-变更 3-删除。默认为1。
        app_type = "appType": req,
        /// `appTime`: 企业报送时间。格式:YYYYMMDDhhmmss。mss
        app_time = "appTime": req,
        /// `appStatus`: 业务状态:1-暂存,2-申报,默认为2。
        app_status = "appStatus": req,
        /// `logisticsCode`: 物流企业的海关注册登记编号。
        logistics_code = "logisticsCode": req,
        /// `logisticsName`: 物流企业在海关注册登记的名称。
        logistics_name = "logisticsName": req,
        /// `logisticsNo`: 物流企业的运单包裹面单号。同一物流企业的运单编号在6个月内不重复。运单编号长度不能超过60位。
        logistics_no = "logisticsNo": req,
        /// `logisticsStatus`: 物流签收状态，限定S
        logistics_status = "logisticsStatus": req,
        /// `logisticsTime`: 物流状态发生的实际时间。格式:YYYYMMDDhhmmss。
        logistics_time = "logisticsTime": req,
        /// `note`: 备注
        note = "note": opt,
    }
}

record! {
    /// CEB621 申报清单 inventory head (`Inventory/InventoryHead`), the legal declaration.
    /// Fields are in XSD element order.
    #[serde(deny_unknown_fields)]
    InventoryHead, strict = true {
        /// `guid`: 企业系统生成36位唯一序号（英文字母大写）。
        guid = "guid": req,
        /// `appType`: 企业报送类型。1-新增 2-变更 3-删除。默认为1。
        app_type = "appType": req,
        /// `appTime`: 企业报送时间。格式:YYYYMMDDhhmmss。mss
        app_time = "appTime": req,
        /// `appStatus`: 业务状态:1-暂存,2-申报,默认为1。填写2时,Signature节点必须填写.
        app_status = "appStatus": req,
        /// `orderNo`: 交易平台的订单编号，同一交易平台的订单编号应唯一。订单编号长度不能超过60位。
        order_no = "orderNo": req,
        /// `ebpCode`: 电商平台的海关注册登记编号；电商平台未在海关注册登记，由电商企业发送订单的，以中国电子口岸发布的电商平台标识编号为准。
        ebp_code = "ebpCode": req,
        /// `ebpName`: 电商平台的海关注册登记名称；电商平台未在海关注册登记，由电商企业发送订单的，以中国电子口岸发布的电商平台名称为准。
        ebp_name = "ebpName": req,
        /// `ebcCode`: 电商企业的海关注册登记编号。
        ebc_code = "ebcCode": req,
        /// `ebcName`: 电商企业的海关注册登记名称。
        ebc_name = "ebcName": req,
        /// `logisticsNo`: 物流企业的运单包裹面单号。同一物流企业的运单编号在6个月内不重复。运单编号长度不能超过60位。
        logistics_no = "logisticsNo": req,
        /// `logisticsCode`: 物流企业的海关注册登记编号。
        logistics_code = "logisticsCode": req,
        /// `logisticsName`: 物流企业在海关注册登记的名称。
        logistics_name = "logisticsName": req,
        /// `copNo`: 企业内部标识单证的编号。
        cop_no = "copNo": opt,
        /// `preNo`: 电子口岸标识单证的编号。
        pre_no = "preNo": opt,
        /// `assureCode`: 担保扣税的企业海关注册登记编号，只限清单的申报企业、电商企业物流企业。
        assure_code = "assureCode": req,
        /// `emsNo`: 保税模式必填，填写区内仓储企业在海关备案的账册编号，用于保税进口业务在特殊区域辅助系统记账（二线出区核减）。
        ems_no = "emsNo": opt,
        /// `invtNo`: 海关接受申报生成的清单编号。
        invt_no = "invtNo": opt,
        /// `ieFlag`: I-进口,E-出口
        ie_flag = "ieFlag": req,
        /// `declTime`: 申报日期，以海关计算机系统接受清单申报数据时记录的日期为准。格式:YYYYMMDD。
        decl_time = "declTime": req,
        /// `customsCode`: 接受清单申报的海关关区代码，参照JGS/T 18《海关关区代码》。
        customs_code = "customsCode": req,
        /// `portCode`: 商品实际进出我国关境口岸海关的关区代码，参照JGS/T 18《海关关区代码》。
        port_code = "portCode": req,
        /// `ieDate`: 运载所申报商品的运输工具申报进境的日期，进口申报时无法确知相应的运输工具的实际进境日期时，免填。格式:YYYYMMDD
        ie_date = "ieDate": opt,
        /// `buyerIdType`: 1-身份证,2-其它。限定为身份证，填写“1”。
        buyer_id_type = "buyerIdType": req,
        /// `buyerIdNumber`: 订购人的身份证件号码。
        buyer_id_number = "buyerIdNumber": req,
        /// `buyerName`: 订购人的真实姓名。
        buyer_name = "buyerName": req,
        /// `buyerTelephone`: 订购人电话。
        buyer_telephone = "buyerTelephone": req,
        /// `consigneeAddress`: 收件地址。
        consignee_address = "consigneeAddress": req,
        /// `agentCode`: 申报单位的海关注册登记编号。
        agent_code = "agentCode": req,
        /// `agentName`: 申报单位在海关注册登记的名称。
        agent_name = "agentName": req,
        /// `areaCode`: 保税模式必填，区内仓储企业的海关注册登记编号。
        area_code = "areaCode": opt,
        /// `areaName`: 保税模式必填，区内仓储企业在海关注册登记的名称。
        area_name = "areaName": opt,
        /// `tradeMode`: 直购进口填写“9610”，保税进口填写“1210”。
        trade_mode = "tradeMode": req,
        /// `trafMode`: 填写海关标准的参数代码，参照《JGS-20 海关业务代码集》- 运输方式代码。直购进口指跨境段物流运输方式，保税进口指二线出区物流运输方式。
        traf_mode = "trafMode": req,
        /// `trafNo`: 直购进口必填。货物进出境的运输工具的名称或运输工具编号。填报内容应与运输部门向海关申报的载货清单所列相应内容一致；同报关单填制规范。保税进口免填。
        traf_no = "trafNo": opt,
        /// `voyageNo`: 直购进口必填。货物进出境的运输工具的航次编号。保税进口免填。
        voyage_no = "voyageNo": opt,
        /// `billNo`: 直购进口必填。货物提单或运单的编号，保税进口免填。
        bill_no = "billNo": opt,
        /// `loctNo`: 针对同一申报地海关下有多个跨境电子商务的监管场所,需要填写区分
        loct_no = "loctNo": opt,
        /// `licenseNo`: 商务主管部门及其授权发证机关签发的进出口货物许可证件的编号
        license_no = "licenseNo": opt,
        /// `country`: 直购进口填写起始发出国家（地区）代码，参照《JGS-20 海关业务代码集》的国家（地区）代码表；保税进口填写代码“142”。
        country = "country": req,
        /// `freight`: 物流企业实际收取的运输费用。
        freight = "freight": req,
        /// `insuredFee`: 物流企业实际收取的商品保价费用。
        insured_fee = "insuredFee": req,
        /// `currency`: 限定为人民币，填写“142”。
        currency = "currency": req,
        /// `wrapType`: 海关对进出口货物实际采用的外部包装方式的标识代码，采用1 位数字表示，如：木箱、纸箱、桶装、散装、托盘、包、油罐车等
        wrap_type = "wrapType": opt,
        /// `packNo`: 件数为包裹数量，限定为“1”。
        pack_no = "packNo": req,
        /// `grossWeight`: 货物及其包装材料的重量之和，计量单位为千克。
        gross_weight = "grossWeight": req,
        /// `netWeight`: 货物的毛重减去外包装材料后的重量，即货物本身的实际重量，计量单位为千克。
        net_weight = "netWeight": req,
        /// `note`: 备注
        note = "note": opt,
    }
}

record! {
    /// CEB621 inventory line (`Inventory/InventoryList`, 1..99 per inventory).
    /// Fields are in XSD element order.
    #[serde(deny_unknown_fields)]
    InventoryList, strict = true {
        /// `gnum`: 从1开始连续序号，与关联的电子订单表体序号一一对应。
        gnum = "gnum": req,
        /// `itemRecordNo`: 账册备案料号 保税模式必填
        item_record_no = "itemRecordNo": opt,
        /// `itemNo`: 电商企业自定义的商品货号（SKU）。
        item_no = "itemNo": opt,
        /// `itemName`: 交易平台销售商品的中文名称。
        item_name = "itemName": opt,
        /// `gcode`: 按商品分类编码规则确定的进出口商品的商品编号，分为商品编号和附加编号，其中商品编号栏应填报《中华人民共和国进出口税则》8位税则号列，附加编号应填报商品编号，附加编号第9、10位。
        gcode = "gcode": req,
        /// `gname`: 商品名称应据实填报，与电子订单一致。
        gname = "gname": req,
        /// `gmodel`: 满足海关归类、审价以及监管的要求为准。包括：品名、牌名、规格、型号、成份、含量、等级等。
        gmodel = "gmodel": req,
        /// `barCode`: 商品条码一般由前缀部分、制造厂商代码、商品代码和校验码组成。没有条码填“无”
        bar_code = "barCode": opt,
        /// `country`: 原产国（地区），海关标准的参数代码 《JGS-20 海关业务代码集》 国家（地区）代码表填写代码。
        country = "country": req,
        /// `tradeCountry`: 贸易国，按海关规定的《国别（地区）代码表》选择填报相应的贸易国（地区）代码。
        trade_country = "tradeCountry": opt,
        /// `currency`: 限定为人民币，填写“142”。
        currency = "currency": req,
        /// `qty`: 数量，按成交计量单位的实际数量
        qty = "qty": req,
        /// `unit`: 计量单位，海关标准的参数代码 《JGS-20 海关业务代码集》- 计量单位代码
        unit = "unit": req,
        /// `qty1`: 法定数量，海关标准的参数代码 《JGS-20 海关业务代码集》- 计量单位代码
        qty1 = "qty1": req,
        /// `unit1`: 法定i计量单位,海关标准的参数代码 《JGS-20 海关业务代码集》- 计量单位代码
        unit1 = "unit1": req,
        /// `qty2`: 第二数量
        qty2 = "qty2": opt,
        /// `unit2`: 第二计量单位,海关标准的参数代码 《JGS-20 海关业务代码集》- 计量单位代码
        unit2 = "unit2": opt,
        /// `price`: 成交单价
        price = "price": req,
        /// `totalPrice`: 成交总价
        total_price = "totalPrice": req,
        /// `note`: 备注
        note = "note": opt,
    }
}

record! {
    /// CEB623 撤销申请单 inventory cancellation.
    /// Fields are in XSD element order.
    #[serde(deny_unknown_fields)]
    InvtCancel, strict = true {
        /// `guid`: 企业系统生成36位唯一序号（英文字母大写）
        guid = "guid": req,
        /// `appType`: 企业报送类型。1-新增。默认为1。
        app_type = "appType": req,
        /// `appTime`: 企业报送时间。格式:YYYYMMDDhhmmss。mss
        app_time = "appTime": req,
        /// `appStatus`: 业务状态:1-暂存,2-申报,默认为1。填写2时,Signature节点必须填写.
        app_status = "appStatus": req,
        /// `customsCode`: 接受申报的海关关区代码，参照JGS/T 18《海关关区代码》。
        customs_code = "customsCode": req,
        /// `orderNo`: 交易平台的订单编号，同一交易平台的订单编号应唯一。订单编号长度不能超过60位。
        order_no = "orderNo": req,
        /// `ebpCode`: 电商平台的海关注册登记编号；电商平台未在海关注册登记，由电商企业发送订单的，以中国电子口岸发布的电商平台标识编号为准。
        ebp_code = "ebpCode": req,
        /// `ebpName`: 电商平台的海关注册登记名称；电商平台未在海关注册登记，由电商企业发送订单的，以中国电子口岸发布的电商平台名称为准。
        ebp_name = "ebpName": req,
        /// `ebcCode`: 电商企业的海关注册登记编号。
        ebc_code = "ebcCode": req,
        /// `ebcName`: 电商企业的海关注册登记名称。
        ebc_name = "ebcName": req,
        /// `logisticsNo`: 物流企业的运单包裹面单号。同一物流企业的运单编号在6个月内不重复。运单编号长度不能超过60位。
        logistics_no = "logisticsNo": req,
        /// `logisticsCode`: 物流企业的海关注册登记编号。
        logistics_code = "logisticsCode": req,
        /// `logisticsName`: 物流企业在海关注册登记的名称。
        logistics_name = "logisticsName": req,
        /// `copNo`: 企业内部标识单证的编号
        cop_no = "copNo": opt,
        /// `preNo`: 电子口岸标识单证的编号
        pre_no = "preNo": opt,
        /// `invtNo`: 申请撤销的原始清单编号。
        invt_no = "invtNo": req,
        /// `buyerIdType`: 1-身份证,2-其它。限定为身份证，填写“1”。
        buyer_id_type = "buyerIdType": req,
        /// `buyerIdNumber`: 订购人的身份证件号码。
        buyer_id_number = "buyerIdNumber": req,
        /// `buyerName`: 订购人的真实姓名。
        buyer_name = "buyerName": req,
        /// `buyerTelephone`: 订购人电话
        buyer_telephone = "buyerTelephone": req,
        /// `agentCode`: 申报单位的海关注册登记编号。
        agent_code = "agentCode": req,
        /// `agentName`: 申报单位在海关注册登记的名称。
        agent_name = "agentName": req,
        /// `reason`: 撤单原因
        reason = "reason": req,
        /// `note`: 备注
        note = "note": opt,
    }
}

record! {
    /// CEB625 退货申请单 return head (`InvtRefund/InvtRefundHead`).
    /// Fields are in XSD element order.
    #[serde(deny_unknown_fields)]
    InvtRefundHead, strict = true {
        /// `guid`: 企业系统生成36位唯一序号（英文字母大写）
        guid = "guid": req,
        /// `appType`: 企业报送类型。1-新增 2-变更 3-删除。默认为1。
        app_type = "appType": req,
        /// `appTime`: 企业报送时间。格式:YYYYMMDDhhmmss。mss
        app_time = "appTime": req,
        /// `appStatus`: 业务状态:1-暂存,2-申报,默认为1。填写2时,Signature节点必须填写.
        app_status = "appStatus": req,
        /// `customsCode`: 接受申报的海关关区代码，参照JGS/T 18《海关关区代码》。
        customs_code = "customsCode": req,
        /// `orderNo`: 交易平台的订单编号，同一交易平台的订单编号应唯一。订单编号长度不能超过60位。
        order_no = "orderNo": req,
        /// `ebpCode`: 电商平台的海关注册登记编号；电商平台未在海关注册登记，由电商企业发送订单的，以中国电子口岸发布的电商平台标识编号为准。
        ebp_code = "ebpCode": req,
        /// `ebpName`: 电商平台的海关注册登记名称；电商平台未在海关注册登记，由电商企业发送订单的，以中国电子口岸发布的电商平台名称为准。
        ebp_name = "ebpName": req,
        /// `ebcCode`: 电商企业的海关注册登记编号。
        ebc_code = "ebcCode": req,
        /// `ebcName`: 电商企业的海关注册登记名称。
        ebc_name = "ebcName": req,
        /// `logisticsNo`: 物流企业的运单包裹面单号。同一物流企业的运单编号在6个月内不重复。运单编号长度不能超过60位。
        logistics_no = "logisticsNo": req,
        /// `logisticsCode`: 物流企业的海关注册登记编号。
        logistics_code = "logisticsCode": req,
        /// `logisticsName`: 物流企业在海关注册登记的名称。
        logistics_name = "logisticsName": req,
        /// `copNo`: 企业内部标识单证的编号。
        cop_no = "copNo": opt,
        /// `preNo`: 电子口岸标识单证的编号。
        pre_no = "preNo": opt,
        /// `invtNo`: 申请退货的原始清单编号。
        invt_no = "invtNo": req,
        /// `buyerIdType`: 订购人证件类型
        buyer_id_type = "buyerIdType": req,
        /// `buyerIdNumber`: 订购人证件号码
        buyer_id_number = "buyerIdNumber": req,
        /// `buyerName`: 订购人姓名
        buyer_name = "buyerName": req,
        /// `buyerTelephone`: 订购人电话
        buyer_telephone = "buyerTelephone": req,
        /// `agentCode`: 申报单位的海关注册登记编号。
        agent_code = "agentCode": req,
        /// `agentName`: 申报单位在海关注册登记的名称。
        agent_name = "agentName": req,
        /// `reason`: 退货原因
        reason = "reason": req,
        /// `note`: 备注
        note = "note": opt,
    }
}

record! {
    /// CEB625 return line (`InvtRefund/InvtRefundList`, 1..99 per return).
    /// Fields are in XSD element order.
    #[serde(deny_unknown_fields)]
    InvtRefundList, strict = true {
        /// `gnum`: 对应原清单表体序号（退货项序号）
        gnum = "gnum": req,
        /// `gcode`: 按商品分类编码规则确定的进出口商品的商品编号，分为商品编号和附加编号，其中商品编号栏应填报《中华人民共和国进出口税则》8位税则号列，附加编号应填报商品编号，附加编号第9、10位。
        gcode = "gcode": req,
        /// `gname`: 商品名称应据实填报，与清单一致。
        gname = "gname": req,
        /// `qty`: 申请退货的数量，小于等于原清单的成交计量单位的数量
        qty = "qty": req,
        /// `unit`: 海关标准的参数代码 《JGS-20 海关业务代码集》- 计量单位代码
        unit = "unit": req,
        /// `note`: 备注
        note = "note": opt,
    }
}

record! {
    /// CEB711 入库明细单 warehousing detail head (`Delivery/DeliveryHead`).
    /// Fields are in XSD element order.
    #[serde(deny_unknown_fields)]
    DeliveryHead, strict = true {
        /// `guid`: 企业系统生成36位唯一序号（英文字母大写）
        guid = "guid": req,
        /// `appType`: 企业报送类型。1-新增 2-变更 3-删除。默认为1。
        app_type = "appType": req,
        /// `appTime`: 企业报送时间。格式:YYYYMMDDhhmmss。mss
        app_time = "appTime": req,
        /// `appStatus`: 业务状态:1-暂存,2-申报,默认为1。
        app_status = "appStatus": req,
        /// `customsCode`: 接受申报的海关关区代码，参照JGS/T 18《海关关区代码》。
        customs_code = "customsCode": req,
        /// `copNo`: 企业内部标识单证的编号
        cop_no = "copNo": opt,
        /// `preNo`: 电子口岸标识单证的编号
        pre_no = "preNo": opt,
        /// `rkdNo`: 海关接受申报生成的入库单编号
        rkd_no = "rkdNo": opt,
        /// `operatorCode`: 监管场所经营人在海关注册登记的编号
        operator_code = "operatorCode": req,
        /// `operatorName`: 监管场所经营人在海关注册登记的名称
        operator_name = "operatorName": req,
        /// `ieFlag`: I进口/E出口
        ie_flag = "ieFlag": req,
        /// `trafMode`: 填写海关标准的参数代码，参照《JGS-20 海关业务代码集》- 运输方式代码。直购进口指跨境段物流运输方式。
        traf_mode = "trafMode": req,
        /// `trafNo`: 货物进出境的运输工具的名称或运输工具编号。填报内容应与运输部门向海关申报的载货清单所列相应内容一致；同报关单填制规范。
        traf_no = "trafNo": req,
        /// `voyageNo`: 货物进出境的运输工具的航次编号。
        voyage_no = "voyageNo": req,
        /// `billNo`: 货物提单或运单的海运提单、空运总单或汽车载货清单
        bill_no = "billNo": req,
        /// `logisticsCode`: 物流企业的海关注册登记编号
        logistics_code = "logisticsCode": req,
        /// `logisticsName`: 物流企业的海关注册登记名称
        logistics_name = "logisticsName": req,
        /// `unloadLocation`: 货物卸货的仓储存放位置
        unload_location = "unloadLocation": opt,
        /// `note`: 备注
        note = "note": opt,
    }
}

record! {
    /// CEB711 warehousing detail line (`Delivery/DeliveryList`).
    /// Fields are in XSD element order.
    #[serde(deny_unknown_fields)]
    DeliveryList, strict = true {
        /// `gnum`: 从1开始的递增序号
        gnum = "gnum": req,
        /// `logisticsNo`: 物流企业的运单包裹面单号。同一物流企业的运单编号在6个月内不重复。运单编号长度不能超过60位。
        logistics_no = "logisticsNo": req,
        /// `note`: 备注
        note = "note": opt,
    }
}

record! {
    /// Transfer block of every declaration (CEB311/411/511/513/621/623/625/711): sender identity.
    /// Fields are in XSD element order.
    #[serde(deny_unknown_fields)]
    BaseTransfer, strict = true {
        /// `copCode`: 报文传输的企业代码（需要与接入客户端的企业身份一致）
        cop_code = "copCode": req,
        /// `copName`: 报文传输的企业名称
        cop_name = "copName": req,
        /// `dxpMode`: 默认为DXP；指中国电子口岸数据交换平台
        dxp_mode = "dxpMode": req,
        /// `dxpId`: 向中国电子口岸数据中心申请数据交换平台的用户编号
        dxp_id = "dxpId": req,
        /// `note`: 备注
        note = "note": opt,
    }
}

record! {
    /// Optional receipt subscription of a declaration (0..5 per message).
    /// Fields are in XSD element order.
    #[serde(deny_unknown_fields)]
    BaseSubscribe, strict = true {
        /// `status`: 用户订阅单证业务状态的信息, ALL-订阅数据和回执, DATA-只订阅数据,RET- 只订阅回执
        status = "status": req,
        /// `dxpMode`: 默认为DXP；指中国电子口岸数据交换平台
        dxp_mode = "dxpMode": req,
        /// `dxpAddress`: 向中国电子口岸数据中心申请数据交换平台的用户编号
        dxp_address = "dxpAddress": req,
        /// `note`: 备注
        note = "note": opt,
    }
}

record! {
    /// CEB312 订单回执 order receipt.
    /// Fields are in XSD element order.
    OrderReturn, strict = false {
        /// `guid`: 电子口岸系统生成36位唯一序号（英文字母大写）
        guid = "guid": req,
        /// `ebpCode`: 电商平台的海关注册登记编号；电商平台未在海关注册登记，由电商企业发送订单的，以中国电子口岸发布的电商平台标识编号为准。
        ebp_code = "ebpCode": req,
        /// `ebcCode`: 电商企业的海关注册登记编号。
        ebc_code = "ebcCode": req,
        /// `orderNo`: 交易平台的订单编号，同一交易平台的订单编号应唯一。订单编号长度不能超过60位。
        order_no = "orderNo": req,
        /// `returnStatus`: 操作结果（2电子口岸申报中/3发送海关成功/4发送海关失败/100海关退单/120海关入库/399海关审结）,若小于0数字表示处理异常回执
        return_status = "returnStatus": req,
        /// `returnTime`: 操作时间(格式:YYYYMMDDhhmmssSSS)
        return_time = "returnTime": req,
        /// `returnInfo`: 备注（如:退单原因）
        return_info = "returnInfo": req,
    }
}

record! {
    /// CEB412 支付单回执 payment receipt.
    /// Fields are in XSD element order.
    PaymentReturn, strict = false {
        /// `guid`: 电子口岸生成36位唯一序号（英文字母大写）
        guid = "guid": req,
        /// `payCode`: 支付企业的海关注册登记编号。
        pay_code = "payCode": req,
        /// `payTransactionId`: 支付企业唯一的支付流水号。
        pay_transaction_id = "payTransactionId": req,
        /// `returnStatus`: 操作结果（2电子口岸申报中/3发送海关成功/4发送海关失败/100海关退单/120海关入库/399海关审结）,若小于0数字表示处理异常回执
        return_status = "returnStatus": req,
        /// `returnTime`: 操作时间(格式:YYYYMMDDhhmmssSSS)
        return_time = "returnTime": req,
        /// `returnInfo`: 备注（如:退单原因）
        return_info = "returnInfo": req,
    }
}

record! {
    /// CEB512 运单回执 waybill receipt.
    /// Fields are in XSD element order.
    LogisticsReturn, strict = false {
        /// `guid`: 电子口岸生成36位唯一序号（英文字母大写）
        guid = "guid": req,
        /// `logisticsCode`: 物流企业的海关注册登记编号。
        logistics_code = "logisticsCode": req,
        /// `logisticsNo`: 物流企业的运单包裹面单号。同一物流企业的运单编号在6个月内不重复。运单编号长度不能超过60位。
        logistics_no = "logisticsNo": req,
        /// `returnStatus`: 操作结果（2电子口岸申报中/3发送海关成功/4发送海关失败/100海关退单/120海关入库/399海关审结）,若小于0数字表示处理异常回执
        return_status = "returnStatus": req,
        /// `returnTime`: 操作时间(格式:YYYYMMDDhhmmssSSS)
        return_time = "returnTime": req,
        /// `returnInfo`: 备注（如:退单原因）
        return_info = "returnInfo": req,
    }
}

record! {
    /// CEB514 运单状态回执 waybill status receipt.
    /// Fields are in XSD element order.
    LogisticsStatusReturn, strict = false {
        /// `guid`: 电子口岸生成36位唯一序号（英文字母大写）
        guid = "guid": req,
        /// `logisticsCode`: 物流企业的海关注册登记编号。
        logistics_code = "logisticsCode": req,
        /// `logisticsNo`: 物流企业的运单包裹面单号。同一物流企业的运单编号在6个月内不重复。运单编号长度不能超过60位。
        logistics_no = "logisticsNo": req,
        /// `logisticsStatus`: 物流签收状态，限定为S
        logistics_status = "logisticsStatus": req,
        /// `returnStatus`: 操作结果（2电子口岸申报中/3发送海关成功/4发送海关失败/100海关退单/399海关审结）,若小于0数字表示处理异常回执
        return_status = "returnStatus": req,
        /// `returnTime`: 操作时间(格式:YYYYMMDDhhmmssSSS)
        return_time = "returnTime": req,
        /// `returnInfo`: 回执信息（如:退单原因）
        return_info = "returnInfo": req,
    }
}

record! {
    /// CEB622 清单回执 inventory receipt.
    /// Fields are in XSD element order.
    InventoryReturn, strict = false {
        /// `guid`: 电子口岸生成36位唯一序号（英文字母大写）
        guid = "guid": req,
        /// `customsCode`: 申报口岸
        customs_code = "customsCode": opt,
        /// `ebpCode`: 电商平台的海关注册登记编号；电商平台未在海关注册登记，由电商企业发送订单的，以中国电子口岸发布的电商平台标识编号为准。
        ebp_code = "ebpCode": opt,
        /// `ebcCode`: 电商平台的海关注册登记编号；电商平台未在海关注册登记，由电商企业发送订单的，以中国电子口岸发布的电商平台标识编号为准。
        ebc_code = "ebcCode": opt,
        /// `agentCode`: 申报单位代码,10位海关代码或者18位信用代码(兼容考虑，暂设为选填)
        agent_code = "agentCode": opt,
        /// `copNo`: 企业内部标识单证的编号
        cop_no = "copNo": req,
        /// `preNo`: 电子口岸标识单证的编号
        pre_no = "preNo": req,
        /// `invtNo`: 海关审核反馈清单的编号
        invt_no = "invtNo": opt,
        /// `returnStatus`: 操作结果（1电子口岸已暂存/2电子口岸申报中/3发送海关成功/4发送海关失败/100海关退单/120海关入库/300人工审核/399海关审结/800放行/899结关/500查验…
        return_status = "returnStatus": req,
        /// `returnTime`: 操作时间(格式:YYYYMMDDhhmmssSSS)
        return_time = "returnTime": req,
        /// `returnInfo`: 回执信息（如:退单原因）
        return_info = "returnInfo": req,
    }
}

record! {
    /// CEB624 撤销申请单回执 cancellation receipt.
    /// Fields are in XSD element order.
    InvtCancelReturn, strict = false {
        /// `guid`: 电子口岸生成36位唯一序号（英文字母大写）
        guid = "guid": req,
        /// `customsCode`: 申报口岸
        customs_code = "customsCode": opt,
        /// `agentCode`: 申报单位代码,10位海关代码或者18位信用代码（兼容考虑，暂设为选填）
        agent_code = "agentCode": opt,
        /// `ebpCode`: 电商平台代码,10位海关代码或者18位信用代码(兼容考虑，暂设为选填)
        ebp_code = "ebpCode": opt,
        /// `ebcCode`: 电商企业代码,10位海关代码或者18位信用代码(兼容考虑，暂设为选填)
        ebc_code = "ebcCode": opt,
        /// `copNo`: 企业内部标识单证的编号
        cop_no = "copNo": req,
        /// `preNo`: 电子口岸标识单证的编号
        pre_no = "preNo": req,
        /// `invtNo`: 申请撤销的原始清单编号
        invt_no = "invtNo": opt,
        /// `returnStatus`: 操作结果（1电子口岸已暂存/2电子口岸申报中/3发送海关成功/4发送海关失败/100海关退单/120海关入库/399海关审结）,若小于0数字表示处理异常回执
        return_status = "returnStatus": req,
        /// `returnTime`: 操作时间(格式:YYYYMMDDhhmmssSSS)
        return_time = "returnTime": req,
        /// `returnInfo`: 回执信息（如:退单原因）
        return_info = "returnInfo": req,
    }
}

record! {
    /// CEB626 退货申请单回执 return receipt.
    /// Fields are in XSD element order.
    InvtRefundReturn, strict = false {
        /// `guid`: 电子口岸生成36位唯一序号（英文字母大写）
        guid = "guid": req,
        /// `customsCode`: 申报口岸
        customs_code = "customsCode": opt,
        /// `agentCode`: 申报单位代码,10位海关代码或者18位信用代码（兼容考虑，暂设为选填）
        agent_code = "agentCode": opt,
        /// `ebpCode`: 电商平台的海关注册登记编号；电商平台未在海关注册登记，由电商企业发送订单的，以中国电子口岸发布的电商平台标识编号为准。
        ebp_code = "ebpCode": opt,
        /// `ebcCode`: 电商平台的海关注册登记编号；电商平台未在海关注册登记，由电商企业发送订单的，以中国电子口岸发布的电商平台标识编号为准。
        ebc_code = "ebcCode": opt,
        /// `copNo`: 企业内部标识单证的编号
        cop_no = "copNo": req,
        /// `preNo`: 电子口岸标识单证的编号
        pre_no = "preNo": req,
        /// `invtNo`: 申请退货的原始清单编号
        invt_no = "invtNo": opt,
        /// `returnStatus`: 操作结果（1电子口岸已暂存/2电子口岸申报中/3发送海关成功/4发送海关失败/100海关退单/120海关入库/399海关审结）,若小于0数字表示处理异常回执
        return_status = "returnStatus": req,
        /// `returnTime`: 操作时间(格式:YYYYMMDDhhmmssSSS)
        return_time = "returnTime": req,
        /// `returnInfo`: 备注（如不通过原因）
        return_info = "returnInfo": req,
    }
}

record! {
    /// CEB712 入库明细单回执 warehousing detail receipt.
    /// Fields are in XSD element order.
    DeliveryReturn, strict = false {
        /// `guid`: 电子口岸生成36位唯一序号（英文字母大写）
        guid = "guid": req,
        /// `customsCode`: 主管海关
        customs_code = "customsCode": opt,
        /// `operatorCode`: 监管场所经营人代码 监管场所经营人作为第三方对入场所的大包开拆核实包裹（兼容考虑，暂设为选填）
        operator_code = "operatorCode": opt,
        /// `copNo`: 企业内部标识单证的编号
        cop_no = "copNo": opt,
        /// `preNo`: 电子口岸标识单证的编号
        pre_no = "preNo": opt,
        /// `rkdNo`: 海关审核生成的入库单编号
        rkd_no = "rkdNo": opt,
        /// `returnStatus`: 操作结果（1电子口岸已暂存/2电子口岸申报中/3发送海关成功/4发送海关失败/100海关退单/120海关入库/399海关审结）,若小于0数字表示处理异常回执
        return_status = "returnStatus": req,
        /// `returnTime`: 操作时间(格式:YYYYMMDDhhmmssSSS)
        return_time = "returnTime": req,
        /// `returnInfo`: 备注（如不通过原因）
        return_info = "returnInfo": req,
    }
}

record! {
    /// CEB816 电子税单 e-tax bill head (`Tax/TaxHeadRd`).
    /// Fields are in XSD element order.
    TaxHeadRd, strict = false {
        /// `guid`: 36位系统唯一序号（英文字母大写）
        guid = "guid": req,
        /// `returnTime`: 回执时间,格式:YYYYMMDDhhmmssSSS
        return_time = "returnTime": req,
        /// `invtNo`: 进境清单编号，海关审结生成标识清单的编号（4位关区+4位年+1位进出口标记+9位流水号）
        invt_no = "invtNo": req,
        /// `taxNo`: 电子税单编号
        tax_no = "taxNo": req,
        /// `customsTax`: 应征关税
        customs_tax = "customsTax": req,
        /// `valueAddedTax`: 应征增值税
        value_added_tax = "valueAddedTax": req,
        /// `consumptionTax`: 应征消费税
        consumption_tax = "consumptionTax": req,
        /// `status`: 税单状态（(1-已生成，2-已汇总 3-作废)）
        status = "status": req,
        /// `entDutyNo`: 缴款书编号
        ent_duty_no = "entDutyNo": opt,
        /// `note`: 备注
        note = "note": opt,
        /// `assureCode`: 担保企业代码
        assure_code = "assureCode": opt,
        /// `ebcCode`: 电商企业代码
        ebc_code = "ebcCode": opt,
        /// `logisticsCode`: 物流企业代码
        logistics_code = "logisticsCode": opt,
        /// `agentCode`: 申报单位代码,10位海关代码或者18位信用代码
        agent_code = "agentCode": opt,
        /// `customsCode`: 申报口岸
        customs_code = "customsCode": opt,
    }
}

record! {
    /// CEB816 e-tax bill line (`Tax/TaxListRd`).
    /// Fields are in XSD element order.
    TaxListRd, strict = false {
        /// `gnum`: 商品项号,从1开始连续序号
        gnum = "gnum": req,
        /// `gcode`: 海关商品编码（10位）
        gcode = "gcode": req,
        /// `taxPrice`: 完税总价格
        tax_price = "taxPrice": req,
        /// `customsTax`: 应征关税
        customs_tax = "customsTax": req,
        /// `valueAddedTax`: 应征增值税
        value_added_tax = "valueAddedTax": req,
        /// `consumptionTax`: 应征消费税
        consumption_tax = "consumptionTax": req,
    }
}

record! {
    /// CEB818 电子税单状态 e-tax bill status (`Tax/TaxHeadStatus`).
    /// Fields are in XSD element order.
    TaxHeadStatus, strict = false {
        /// `guid`: 36位系统唯一序号（英文字母大写）
        guid = "guid": req,
        /// `returnTime`: 回执时间,格式:YYYYMMDDhhmmssSSS
        return_time = "returnTime": req,
        /// `invtNo`: 进境清单编号，海关审结生成标识清单的编号（4位关区+4位年+1位进出口标记+9位流水号）
        invt_no = "invtNo": req,
        /// `taxNo`: 电子税单编号
        tax_no = "taxNo": req,
        /// `status`: 税单状态（(1-已生成，2-已汇总 3-作废)）
        status = "status": req,
        /// `entDutyNo`: 缴款书编号
        ent_duty_no = "entDutyNo": opt,
        /// `assureCode`: 担保企业代码
        assure_code = "assureCode": opt,
    }
}

record! {
    /// CEB900 报文格式校验回执 format-rejection receipt.
    /// Fields are in XSD element order.
    MessageReturn, strict = false {
        /// `guid`: 36位唯一序号
        guid = "guid": req,
        /// `returnStatus`: 小于0数字表示报文格式校验异常。
        return_status = "returnStatus": req,
        /// `returnInfo`: 回执详细信息
        return_info = "returnInfo": req,
        /// `returnTime`: 操作时间(格式:YYYYMMDDhhmmssSSS)
        return_time = "returnTime": req,
        /// `oriCopMsgId`: 原始传输报文的copMsgId
        ori_cop_msg_id = "oriCopMsgId": req,
        /// `oriMessageType`: 原始报文的报文类型，如CEB311Message，未知类型为Unknown
        ori_message_type = "oriMessageType": req,
        /// `oriBizMessage`: 原始报文内容
        ori_biz_message = "oriBizMessage": req,
    }
}

/// CEB311 `Order`: one order head and its lines (1..99).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Order {
    /// `OrderHead`.
    #[serde(rename = "orderHead")]
    pub head: OrderHead,
    /// `OrderList` lines in document order.
    #[serde(rename = "orderList")]
    pub lists: Vec<OrderList>,
}

/// CEB621 `Inventory`: one inventory head and its lines (1..99).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    /// `InventoryHead`.
    #[serde(rename = "inventoryHead")]
    pub head: InventoryHead,
    /// `InventoryList` lines in document order.
    #[serde(rename = "inventoryList")]
    pub lists: Vec<InventoryList>,
}

/// CEB625 `InvtRefund`: one return head and its lines (1..99).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvtRefund {
    /// `InvtRefundHead`.
    #[serde(rename = "invtRefundHead")]
    pub head: InvtRefundHead,
    /// `InvtRefundList` lines in document order.
    #[serde(rename = "invtRefundList")]
    pub lists: Vec<InvtRefundList>,
}

/// CEB711 `Delivery`: one warehousing detail head and its lines.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Delivery {
    /// `DeliveryHead`.
    #[serde(rename = "deliveryHead")]
    pub head: DeliveryHead,
    /// `DeliveryList` lines in document order.
    #[serde(rename = "deliveryList")]
    pub lists: Vec<DeliveryList>,
}

/// CEB816 `Tax`: one e-tax bill head and its lines.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Tax {
    /// `TaxHeadRd`.
    #[serde(rename = "taxHeadRd")]
    pub head: TaxHeadRd,
    /// `TaxListRd` lines in document order.
    #[serde(rename = "taxListRd")]
    pub lists: Vec<TaxListRd>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Serde names must be the CEB element names, or JSON and XML would disagree.
    fn assert_serde_names_match<R: Record + Serialize>() {
        let json = serde_json::to_value(R::default()).expect("serialize");
        let keys: Vec<&str> = json
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        let mut expected: Vec<&str> = R::FIELDS.iter().map(|f| f.name).collect();
        let mut actual = keys.clone();
        expected.sort_unstable();
        actual.sort_unstable();
        assert_eq!(actual, expected, "{}", R::TAG);
    }

    #[test]
    fn serde_names_are_ceb_element_names() {
        assert_serde_names_match::<OrderHead>();
        assert_serde_names_match::<OrderList>();
        assert_serde_names_match::<PaymentHead>();
        assert_serde_names_match::<LogisticsHead>();
        assert_serde_names_match::<LogisticsStatus>();
        assert_serde_names_match::<InventoryHead>();
        assert_serde_names_match::<InventoryList>();
        assert_serde_names_match::<InvtCancel>();
        assert_serde_names_match::<InvtRefundHead>();
        assert_serde_names_match::<InvtRefundList>();
        assert_serde_names_match::<TaxHeadRd>();
        assert_serde_names_match::<InventoryReturn>();
    }

    #[test]
    fn declaration_json_rejects_unknown_fields() {
        let err = serde_json::from_str::<BaseTransfer>(
            r#"{"copCode":"a","copName":"b","dxpMode":"DXP","dxpId":"d","bogus":"x"}"#,
        );
        assert!(err.is_err());
    }

    #[test]
    fn field_access_round_trips() {
        let mut head = OrderHead::default();
        assert!(head.set_field("acturalPaid", "12.5".into()));
        assert!(head.set_field("consigneeDistrict", "500000".into()));
        assert!(!head.set_field("nope", String::new()));
        assert_eq!(head.actural_paid, "12.5");
        assert_eq!(head.field("consigneeDistrict"), Some("500000"));
        assert_eq!(head.field("payCode"), None);
    }
}
