SELECT tl.transaction AS transaction, tl.linesequencenumber AS line, BUILTIN.DF(tl.item) AS item,
           tl.memo AS description, tl.quantity, tl.rate, tl.custcol_hs_code, tl.custcol_origin_country
    FROM transactionline tl
    WHERE tl.transaction IN ({ids}) AND tl.mainline = 'F'
    ORDER BY tl.transaction, tl.linesequencenumber