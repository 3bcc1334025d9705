SELECT t.id, t.tranid, BUILTIN.CF(t.status) AS status, BUILTIN.DF(t.shipmethod) AS shipmethod,
         ml.location AS location, BUILTIN.DF(ml.createdfrom) AS createdfrom, t.otherrefnum,
         BUILTIN.DF(t.entity) AS entity, t.email, BUILTIN.DF(t.currency) AS currency,
         TO_CHAR(t.lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS lastmodifieddate,
         sa.addressee AS shipaddress_addressee, sa.attention AS shipaddress_attention,
         sa.addr1 AS shipaddress_addr1, sa.addr2 AS shipaddress_addr2, sa.addr3 AS shipaddress_addr3,
         sa.city AS shipaddress_city, sa.state AS shipaddress_state, sa.zip AS shipaddress_zip,
         sa.country AS shipaddress_country, sa.addrphone AS shipaddress_addrphone,
         t.custbody_ups_reference, t.custbody_ups_charges, t.custbody_ups_status, t.custbody_ups_error,
         t.custbody_ups_label_file, t.custbody_ups_last_scan, t.custbody_ups_delivered,
         t.custbody_ups_received_by
  FROM transaction t
  JOIN transactionline ml ON ml.transaction = t.id AND ml.mainline = 'T'
  LEFT JOIN transactionShippingAddress sa ON sa.nkey = t.shippingaddress
  WHERE t.type = 'ItemShip' AND t.id = {id}